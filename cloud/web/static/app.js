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
  // The sales report's GMV (bars) and orders (line) per period; the table stays below it.
  function drawSales() {
    var el = document.getElementById("sales-chart");
    var data = document.getElementById("sales-chart-data");
    if (!el || !data || typeof window.echarts === "undefined") { return; }
    var d = JSON.parse(data.textContent || "{}");
    if (!d.labels || !d.labels.length) { return; }
    el.hidden = false;
    var chart = window.echarts.init(el);
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { data: ["GMV", "orders"], top: 0 },
      xAxis: { type: "category", data: d.labels },
      yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
      series: [
        { name: "GMV", type: "bar", data: d.gmv, itemStyle: { color: "#1d5fd1" }, barMaxWidth: 22 },
        { name: "orders", type: "line", yAxisIndex: 1, data: d.orders, itemStyle: { color: "#d97706" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  // The profit report's revenue (bars) and profit (line) per period; the table stays below.
  function drawProfit() {
    var el = document.getElementById("profit-chart");
    var data = document.getElementById("profit-chart-data");
    if (!el || !data || typeof window.echarts === "undefined") { return; }
    var d = JSON.parse(data.textContent || "{}");
    if (!d.labels || !d.labels.length) { return; }
    el.hidden = false;
    var chart = window.echarts.init(el);
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { data: d.names, top: 0 },
      xAxis: { type: "category", data: d.labels },
      yAxis: { type: "value" },
      series: [
        { name: d.names[0], type: "bar", data: d.revenue, itemStyle: { color: "#1d5fd1" }, barMaxWidth: 22 },
        { name: d.names[1], type: "line", data: d.profit, itemStyle: { color: "#15803d" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  // The fulfilment report's parcels per period.
  function drawFulfilment() {
    var el = document.getElementById("fulfil-chart");
    var data = document.getElementById("fulfil-chart-data");
    if (!el || !data || typeof window.echarts === "undefined") { return; }
    var d = JSON.parse(data.textContent || "{}");
    if (!d.labels || !d.labels.length) { return; }
    el.hidden = false;
    var chart = window.echarts.init(el);
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: d.parcels, itemStyle: { color: "#1d5fd1" }, barMaxWidth: 22 }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("DOMContentLoaded", drawFulfilment);
  document.addEventListener("DOMContentLoaded", drawSales);
  document.addEventListener("DOMContentLoaded", drawProfit);
})();
