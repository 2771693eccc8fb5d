// Draw a system's relations graph with ECharts from the JSON the page embeds
// (<script type="application/json" id="system-graph-data">): nodes, edges, the focus
// node and translated labels. Systems link to their pages, components to theirs.
(function () {
  "use strict";

  var COLORS = { system: "#206bc4", component: "#2fb344", focus: "#d63939" };

  function pageOf(node) {
    return node.type === "system" ? "/catalog/systems/" + node.id : "/catalog/components/" + node.id;
  }

  function draw() {
    var holder = document.getElementById("system-graph");
    var source = document.getElementById("system-graph-data");
    if (!holder || !source || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent || "{}");
    var labels = data.labels || {};
    var types = data.types || {};
    var nodes = (data.nodes || []).map(function (node) {
      var focus = node.id === data.focus;
      var color = focus ? COLORS.focus : COLORS[node.type];
      return {
        id: node.id,
        name: node.name,
        value: node.kind ? types[node.type] + " · " + node.kind : types[node.type],
        symbol: node.type === "system" ? "roundRect" : "circle",
        symbolSize: focus ? 46 : node.type === "system" ? 34 : 22,
        itemStyle: { color: color },
        label: { show: true, position: "bottom" },
        page: pageOf(node),
      };
    });
    var edges = (data.edges || []).map(function (edge) {
      return {
        source: edge.source,
        target: edge.target,
        value: labels[edge.kind] || edge.kind,
        lineStyle: { type: edge.kind === "part_of" ? "dashed" : "solid", curveness: 0.1 },
        label: { show: edge.kind !== "part_of", formatter: labels[edge.kind] || edge.kind, fontSize: 11 },
      };
    });
    var existing = window.echarts.getInstanceByDom(holder);
    if (existing) {
      existing.dispose();
    }
    var chart = window.echarts.init(holder);
    chart.setOption({
      tooltip: {
        formatter: function (params) {
          var text = params.dataType === "edge" ? params.data.value : params.data.name + " — " + params.data.value;
          var span = document.createElement("span");
          span.textContent = text;
          return span.innerHTML;
        },
      },
      series: [
        {
          type: "graph",
          layout: "force",
          roam: true,
          draggable: true,
          force: { repulsion: 260, edgeLength: [90, 160] },
          edgeSymbol: ["none", "arrow"],
          edgeSymbolSize: 8,
          data: nodes,
          links: edges,
        },
      ],
    });
    chart.on("click", function (params) {
      if (params.dataType === "node" && params.data.id !== data.focus) {
        window.location.href = params.data.page;
      }
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
