// The home dashboard's bar charts: one per headline, from the JSON the page carries.
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("coverage-data");
  if (!source || !window.Chart) { return; }
  var charts = JSON.parse(source.textContent);
  document.querySelectorAll("canvas.coverage-chart").forEach(function (canvas, i) {
    var data = charts[i];
    if (!data) { return; }
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "% covered", data: data.rates, backgroundColor: "#0b5cad" }] },
      options: { indexAxis: "y", scales: { x: { min: 0, max: 100 } }, plugins: { legend: { display: false } } }
    });
  });
});
