// Draw the course's plotly figures (stored as JSON by e3teach-author site) with the local plotly.js,
// one after the other once the page has loaded, so that the text is readable at once.
// Each figure gets data-drawn="1" once plotly has drawn it (the site's browser test waits for it),
// or data-drawn="error".
(function () {
  function drawOne(divs, k) {
    if (k >= divs.length) return;
    var div = divs[k];
    var next = function () { setTimeout(function () { drawOne(divs, k + 1); }, 0); };
    var holder = div.nextElementSibling;
    if (!holder || !holder.classList.contains("e3teach-plotly-data")) { div.dataset.drawn = "error"; next(); return; }
    var fig = JSON.parse(holder.textContent);
    var config = Object.assign({responsive: true, displaylogo: false}, fig.config || {});
    window.Plotly.newPlot(div, fig.data, fig.layout || {}, config).then(
      function () { div.dataset.drawn = "1"; next(); },
      function (err) { div.dataset.drawn = "error"; console.error("plotly: " + err); next(); });
  }
  function drawAll() { drawOne(Array.prototype.slice.call(document.querySelectorAll("div.e3teach-plotly")), 0); }
  if (document.readyState === "complete") drawAll();
  else window.addEventListener("load", drawAll);
})();
