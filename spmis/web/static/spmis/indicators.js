// The indicators page's charts: bars by area and the series against targets. Figures come from
// the page's JSON (json_script), labels from the canvases' data- attributes: no inline script.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.Chart) { return; }
  var bars = document.getElementById("areas-data");
  var canvas = document.getElementById("areas-chart");
  if (bars && canvas) {
    var b = JSON.parse(bars.textContent);
    canvas.parentNode.style.height = Math.max(160, 28 * b.labels.length + 60) + "px";
    new Chart(canvas, {
      type: "bar",
      data: { labels: b.labels, datasets: [{ label: canvas.dataset.label, data: b.values, backgroundColor: "#0b5cad" }] },
      options: { indexAxis: "y", maintainAspectRatio: false,
                 scales: { x: b.percent ? { min: 0, max: 100 } : { min: 0 } },
                 plugins: { legend: { display: false } } }
    });
  }
  var series = document.getElementById("series-data");
  var line = document.getElementById("series-chart");
  if (series && line) {
    var s = JSON.parse(series.textContent);
    var labels = line.dataset;
    var datasets = [
      { label: labels.total, data: s.values, borderColor: "#0b5cad", spanGaps: true },
      { label: labels.women, data: s.women, borderColor: "#9a3bb0", spanGaps: true },
      { label: labels.men, data: s.men, borderColor: "#1a7f37", spanGaps: true }
    ];
    // Each target (a level for a year) drawn across the months the series covers.
    s.targets.forEach(function (t) {
      datasets.push({ label: labels.target + " " + t.year, data: s.labels.map(function () { return t.value; }),
                      borderColor: "#b42318", borderDash: [6, 4], pointRadius: 0 });
    });
    new Chart(line, {
      type: "line",
      data: { labels: s.labels, datasets: datasets },
      options: { scales: { y: s.percent ? { min: 0, max: 100 } : { min: 0 } } }
    });
  }
});
