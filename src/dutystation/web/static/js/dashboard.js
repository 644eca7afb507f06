// dutystation dashboard: draws the charts. Each chart's Vega-Lite spec sits in a
// <script type="application/json"> data block next to an element [data-chart="<id>"].
// The page's Content-Security-Policy is default-src 'self' (no eval, no inline
// styles), so vega runs its expression interpreter (ast: true) instead of generating
// code, and vega-embed injects no stylesheet of its own (defaultStyle: false; the
// tooltip look is in dashboard.css).
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.vegaEmbed !== "function") {
      return;
    }
    root.querySelectorAll("[data-chart]").forEach(function (target) {
      if (target.dataset.drawn === "yes") {
        return;
      }
      var source = document.getElementById(target.dataset.chart);
      if (!source) {
        return;
      }
      var spec;
      try {
        spec = JSON.parse(source.textContent);
      } catch (e) {
        return;
      }
      target.dataset.drawn = "yes";
      window
        .vegaEmbed(target, spec, {
          ast: true,
          actions: false,
          defaultStyle: false,
          renderer: "svg",
          tooltip: { disableDefaultStyle: true },
        })
        .then(function () {
          target.dataset.rendered = "yes";
        })
        .catch(function () {
          target.dataset.rendered = "failed";
          target.textContent = "The chart could not be drawn; the table has the same figures.";
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
  });
  // Partial updates (drill-down) bring new charts with them.
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target);
  });
})();
