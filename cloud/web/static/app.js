// Progressive enhancement only: every page works without this file.
// Draws the dashboard's orders-by-state chart when ECharts is installed (from npm, served locally).
(function () {
  "use strict";
  function drawCharts() {
    var el = document.getElementById("orders-chart");
    var data = document.getElementById("orders-chart-data");
    if (!el || !data || typeof window.echarts === "undefined") { return; }
    var d = JSON.parse(data.textContent || "{}");
    if (!d.labels) { return; }
    el.hidden = false;
    var table = document.getElementById("orders-by-state");
    if (table) { table.hidden = true; }
    var chart = window.echarts.init(el);
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: d.labels, inverse: true },
      series: [{ type: "bar", data: d.values, itemStyle: { color: "#1d5fd1" }, barMaxWidth: 22 }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
})();
