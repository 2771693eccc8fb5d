// Draw the catalog dashboard's charts with ECharts from the JSON the page embeds
// (<script type="application/json" id="catalog-chart-data">): systems by stage, and
// catalog entries per customer domain. Labels arrive already translated.
(function () {
  "use strict";

  var STAGE_COLORS = ["#4299e1", "#f59f00", "#2fb344"];

  function chartIn(id) {
    var holder = document.getElementById(id);
    if (!holder) {
      return null;
    }
    var existing = window.echarts.getInstanceByDom(holder);
    if (existing) {
      existing.dispose();
    }
    return window.echarts.init(holder);
  }

  function drawStages(stages) {
    var chart = chartIn("chart-stages");
    if (!chart) {
      return null;
    }
    chart.setOption({
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      color: STAGE_COLORS,
      series: [
        {
          type: "pie",
          radius: ["40%", "70%"],
          avoidLabelOverlap: true,
          label: { formatter: "{c}" },
          data: stages,
        },
      ],
    });
    return chart;
  }

  function drawDomains(domains) {
    var chart = chartIn("chart-domains");
    if (!chart) {
      return null;
    }
    var names = (domains.names || []).slice().reverse();
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 8, bottom: 40, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: names },
      series: (domains.series || []).map(function (serie) {
        return {
          name: serie.name,
          type: "bar",
          stack: "total",
          emphasis: { focus: "series" },
          data: serie.data.slice().reverse(),
        };
      }),
    });
    return chart;
  }

  function draw() {
    var source = document.getElementById("catalog-chart-data");
    if (!source || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent || "{}");
    var charts = [drawStages(data.stages || []), drawDomains(data.domains || {})].filter(Boolean);
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) {
        chart.resize();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
