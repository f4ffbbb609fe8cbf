// Progressive enhancement only: every page works without this file.
// Draws the pages' charts when ECharts is installed (from npm, served locally); the tables
// stay on the page (the home page's is hidden once its chart is drawn).
(function () {
  "use strict";
  var BLUE = "#1d5fd1";
  // Draw the chart into #<name>-chart from the JSON in #<name>-chart-data, with the options
  // ``options(data)`` gives; nothing when either is missing, ECharts is not installed or the
  // data has no labels.
  function draw(name, options) {
    var el = document.getElementById(name + "-chart");
    var data = document.getElementById(name + "-chart-data");
    if (!el || !data || typeof window.echarts === "undefined") { return false; }
    var d = JSON.parse(data.textContent || "{}");
    if (!d.labels || !d.labels.length) { return false; }
    el.hidden = false;
    var chart = window.echarts.init(el);
    var option = options(d);
    option.animation = false;
    option.tooltip = { trigger: "axis" };
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    return true;
  }
  function bar(data) {
    return { type: "bar", data: data, itemStyle: { color: BLUE }, barMaxWidth: 22 };
  }
  function drawAll() {
    // the home page's orders by state, as bars across
    if (draw("orders", function (d) {
      return { grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
               xAxis: { type: "value", minInterval: 1 },
               yAxis: { type: "category", data: d.labels, inverse: true },
               series: [bar(d.values)] };
    })) {
      var table = document.getElementById("orders-by-state");
      if (table) { table.hidden = true; }
    }
    // the sales report's GMV (bars) and orders (line) per period
    draw("sales", function (d) {
      var line = { name: "orders", type: "line", yAxisIndex: 1, data: d.orders, itemStyle: { color: "#d97706" } };
      return { grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
               legend: { data: ["GMV", "orders"], top: 0 },
               xAxis: { type: "category", data: d.labels },
               yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
               series: [Object.assign(bar(d.gmv), { name: "GMV" }), line] };
    });
    // the profit report's revenue (bars) and profit (line) per period
    draw("profit", function (d) {
      var line = { name: d.names[1], type: "line", data: d.profit, itemStyle: { color: "#15803d" } };
      return { grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
               legend: { data: d.names, top: 0 },
               xAxis: { type: "category", data: d.labels },
               yAxis: { type: "value" },
               series: [Object.assign(bar(d.revenue), { name: d.names[0] }), line] };
    });
    // the fulfilment report's parcels per period
    draw("fulfil", function (d) {
      return { grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
               xAxis: { type: "category", data: d.labels },
               yAxis: { type: "value", minInterval: 1 },
               series: [bar(d.parcels)] };
    });
  }
  document.addEventListener("DOMContentLoaded", drawAll);
})();
