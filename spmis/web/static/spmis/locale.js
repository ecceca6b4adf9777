// The page's language for everything drawn in the browser, and the language switcher.
// Charts (Chart.js) format their ticks and tooltips with Intl.NumberFormat in the page's
// language (<html lang>), the CLDR data the server formats with: "49,4 %" on both sides.
// The switcher (web/_language.html) is sent as soon as a language is chosen; its button stays
// for browsers without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var lang = document.documentElement.lang || "en";
  if (window.Chart) { window.Chart.defaults.locale = lang; }
  document.querySelectorAll("form.languages").forEach(function (form) {
    var select = form.querySelector("select");
    var button = form.querySelector("button");
    if (!select) { return; }
    if (button) { button.hidden = true; }
    select.addEventListener("change", function () { form.submit(); });
  });
});
