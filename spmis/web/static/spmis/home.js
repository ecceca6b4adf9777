// The landing page's trend charts: one line per headline rate, month by month, each target a
// dashed level. Figures come from the page's JSON (json_script "trend-data"), one entry per
// canvas (data-index); labels are already in the page's language. No inline script (CSP).
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("trend-data");
  if (!source || !window.Chart) { return; }
  var charts = JSON.parse(source.textContent);
  // Okabe-Ito: told apart with the common colour-vision deficiencies.
  var colours = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];
  var lang = document.documentElement.lang || "en";
  var percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  var shortMonth = new Intl.DateTimeFormat(lang, { month: "short", year: "2-digit", timeZone: "UTC" });
  document.querySelectorAll("canvas.trend-chart").forEach(function (canvas) {
    var data = charts[Number(canvas.dataset.index)];
    if (!data || !data.labels.length) { return; }
    var datasets = data.lines.map(function (line, i) {
      return { label: line.label, data: line.values, borderColor: colours[i % colours.length],
               backgroundColor: colours[i % colours.length], spanGaps: true, tension: 0.2 };
    });
    data.targets.forEach(function (t) {
      datasets.push({ label: canvas.dataset.target + ": " + t.label,
                      data: data.labels.map(function () { return t.value; }),
                      borderColor: colours[t.line % colours.length], borderDash: [6, 4],
                      pointRadius: 0, borderWidth: 1 });
    });
    // On a phone: short month names on the axis, a compact legend under the chart.
    var narrow = canvas.parentNode.clientWidth < 520;
    var axis = data.periods.map(function (p) { return shortMonth.format(new Date(p + "-01T00:00:00Z")); });
    new Chart(canvas, {
      type: "line",
      data: { labels: axis, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        plugins: {
          legend: { position: narrow ? "bottom" : "top",
                    labels: { boxWidth: narrow ? 12 : 40, font: { size: narrow ? 11 : 12 } } },
          tooltip: { callbacks: {
            title: function (items) { return items.length ? data.labels[items[0].dataIndex] : ""; },
            label: function (c) {
              return c.dataset.label + ": " + (c.parsed.y === null ? "—" : percent.format(c.parsed.y / 100));
            } } }
        },
        scales: { y: { min: 0, max: 100,
                       ticks: { callback: function (v) { return percent.format(v / 100); } } } }
      }
    });
  });
});
