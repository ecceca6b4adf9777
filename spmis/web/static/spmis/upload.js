// The upload page's progress bar, moved by htmx's progress events while the file is sent. The
// bar names the event it follows (data-progress-event); htmx may swap the bar for a new one.
document.addEventListener("DOMContentLoaded", function () {
  var first = document.getElementById("upload-progress");
  if (!first) { return; }
  document.body.addEventListener(first.dataset.progressEvent, function (evt) {
    var bar = document.getElementById("upload-progress");
    if (bar && evt.detail.lengthComputable) {
      bar.value = Math.round(evt.detail.loaded / evt.detail.total * 100);
    }
  });
});
