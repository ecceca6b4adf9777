// Keyboard shortcuts for the linkage review pages (linkage_review.html, linkage_pair.html,
// linkage_records.html). Each control that has a shortcut says so in data-key (keys separated
// by spaces: "m", "s j", "Enter", "Escape"); a key clicks its control, so a shortcut does
// exactly what the control does without JavaScript (a plain form or link). Letters do nothing
// while one types in a field, or with Ctrl, Alt or Meta held; Escape works everywhere (it
// cancels); Enter on a button, a link or in a field keeps its own meaning.
(function () {
  "use strict";

  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  function controls() {
    var found = {};
    document.querySelectorAll("[data-key]").forEach(function (el) {
      el.getAttribute("data-key").split(/\s+/).forEach(function (key) {
        if (key && !found[key]) { found[key] = el; }
      });
    });
    return found;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-shortcuts]").forEach(function (legend) {
      legend.hidden = false;  // the shortcuts work: say so
    });
  });

  var busy = false;  // one key, one action: a second press while the page changes is ignored

  document.addEventListener("keydown", function (event) {
    if (busy || event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    var key = event.key;
    var target = event.target;
    if (key === "Escape") {
      // Cancel, even from a field.
    } else if (key === "Enter") {
      var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
      if (typing(target) || tag === "button" || tag === "a" || tag === "summary") { return; }
    } else if (key.length !== 1 || typing(target)) {
      return;
    } else {
      key = key.toLowerCase();
    }
    var control = controls()[key];
    if (!control) { return; }
    event.preventDefault();
    if (control.form && control.form.reportValidity && !control.form.reportValidity()) {
      return;  // e.g. a reason is required: the browser says so, focus goes to the field
    }
    busy = true;
    control.click();
  });

  // Back to a page from the history cache: keys work again.
  window.addEventListener("pageshow", function () { busy = false; });
})();
