// A submission's page: the progress panel polls the load's state through htmx (hx-trigger
// "every 2s"). On a poor link a poll can fail; say so (the panel keeps polling) instead of
// leaving the bar still, and take the note away when an answer arrives.
document.addEventListener("DOMContentLoaded", function () {
  function note(show) {
    var offline = document.getElementById("progress-offline");
    if (offline) { offline.hidden = !show; }
  }
  function fromPanel(evt) {
    return evt.target && evt.target.id === "progress";
  }
  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.body.addEventListener(name, function (evt) { if (fromPanel(evt)) { note(true); } });
  });
  document.body.addEventListener("htmx:afterSettle", function () { note(false); });
});
