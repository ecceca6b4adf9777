// The survey errors page's chart: coverage and benefit incidence by welfare quintile, from the
// page's JSON (json_script); dataset labels from the canvas's data- attributes.
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("quintile-data");
  var canvas = document.getElementById("quintile-chart");
  if (!window.Chart || !source || !canvas) { return; }
  var b = JSON.parse(source.textContent);
  var sets = [{ label: canvas.dataset.coverageLabel, data: b.coverage, backgroundColor: "#0b5cad" }];
  if (b.incidence.length) {
    sets.push({ label: canvas.dataset.incidenceLabel, data: b.incidence, backgroundColor: "#1a7f37" });
  }
  new Chart(canvas, {
    type: "bar", data: { labels: b.labels, datasets: sets },
    options: { scales: { y: { min: 0, max: 100 } } }
  });
});
