// Draw the course's plotly figures (stored as JSON by e3teach-author site) with the local plotly.js,
// one after the other once the page has loaded, so that the text is readable at once.
// Each figure gets data-drawn="1" once plotly has drawn it (the site's browser test waits for it),
// or data-drawn="error".
//
// Figures fit their column at any width (a phone is ~360-430 px wide):
// - the width is the column's (autosize), never the width stored in the figure;
// - a title too long for one line is wrapped at spaces, and the top margin grows to hold it;
// - the mode bar sits in the right margin, under the title, and is left out below NARROW px;
// - below NARROW px, panels side by side (3D scenes, 2D axes) are stacked one under the other,
//   with their titles above them, legends go under the plot, and 3D cameras step back a little
//   so that axis labels stay in view.
// The figure is redrawn when the column crosses NARROW (a phone turned sideways).
(function () {
  var NARROW = 600;
  var FONT = 12;
  var DESIGN_WIDTH = 720;   // the width figures are made for (viz.TWIN_SIZE): a narrower one keeps their shape

  function clone(x) { return JSON.parse(JSON.stringify(x)); }

  function wrap(text, width, size) {
    // break between words so that no line is wider than the figure; a word's width is that of its visible
    // characters (plotly titles may hold <b>, <sub>, <sup>); existing <br> breaks are kept
    var perLine = Math.max(12, Math.floor(width / (0.56 * size)));
    var visible = function (s) { return s.replace(/<[^>]+>/g, "").length; };
    return String(text).split(/<br\s*\/?>/i).map(function (line) {
      if (visible(line) <= perLine) return line;
      var out = [], current = "";
      line.split(" ").forEach(function (word) {
        if (current && visible(current + " " + word) > perLine) { out.push(current); current = word; }
        else current = current ? current + " " + word : word;
      });
      if (current) out.push(current);
      return out.join("<br>");
    }).join("<br>");
  }

  function titleText(layout) {
    var t = layout.title;
    return t && typeof t === "object" ? t.text : t;
  }

  // The panels of a figure: every 3D scene and every 2D x/y axes pair, with their domains.
  function panels(layout, data) {
    var found = [];
    var keys = {};
    (data || []).forEach(function (t) {
      if (t.scene || /3d$|^surface$|^mesh3d$|^cone$/.test(t.type || "")) keys[t.scene || "scene"] = "3d";
      else if (t.xaxis || t.yaxis || t.type === "scatter" || t.type === "heatmap" || t.type === "bar" || !t.type)
        keys[(t.xaxis || "x") + "|" + (t.yaxis || "y")] = "2d";
    });
    Object.keys(keys).forEach(function (key) {
      if (keys[key] === "3d") {
        var scene = layout[key] = layout[key] || {};
        var d = scene.domain || {};
        found.push({kind: "3d", key: key, x: d.x || [0, 1], y: d.y || [0, 1]});
      } else {
        var xy = key.split("|");
        var xa = "xaxis" + xy[0].slice(1), ya = "yaxis" + xy[1].slice(1);
        layout[xa] = layout[xa] || {}; layout[ya] = layout[ya] || {};
        found.push({kind: "2d", key: key, xa: xa, ya: ya,
                    x: layout[xa].domain || [0, 1], y: layout[ya].domain || [0, 1]});
      }
    });
    return found;
  }

  // Subplot titles are paper-referenced annotations just above a panel: find each one's panel.
  function titleOf(annotation, list) {
    if (annotation.xref && annotation.xref !== "paper") return null;
    var best = null, dist = 1e9;
    list.forEach(function (p) {
      var d = Math.abs((p.x[0] + p.x[1]) / 2 - (annotation.x || 0)) + Math.abs(p.y[1] - (annotation.y || 0));
      if (d < dist) { best = p; dist = d; }
    });
    return dist < 0.3 ? best : null;
  }

  function stack(layout, data, width) {
    var list = panels(layout, data);
    var columns = {};
    list.forEach(function (p) { columns[p.x[0].toFixed(3)] = true; });
    if (list.length < 2 || Object.keys(columns).length < 2) return false;
    // reading order: top to bottom, then left to right
    list.sort(function (a, b) { return (b.y[1] - a.y[1]) || (a.x[0] - b.x[0]); });
    var titles = (layout.annotations || []).map(function (a) { return [a, titleOf(a, list)]; });
    var n = list.length;
    layout.height = Math.round(n * Math.min(width, 420) + 80);
    var plot = layout.height - 140;                 // about the plot area: the height less the margins
    var head = 30 / plot, gap = 16 / plot;          // room for a panel's title, and between panels
    list.forEach(function (p, i) {
      var top = 1 - i / n, bottom = 1 - (i + 1) / n;
      var y = [Math.max(0, bottom + (i === n - 1 ? 0 : gap)), top - head];
      titles.forEach(function (pair) {
        if (pair[1] === p) { pair[0].x = 0.5; pair[0].y = y[1] + 4 / plot; pair[0].xanchor = "center"; pair[0].yanchor = "bottom"; }
      });
      if (p.kind === "3d") { layout[p.key].domain = {x: [0, 1], y: y}; }
      else { layout[p.xa].domain = [0, 1]; layout[p.ya].domain = y; }
    });
    return true;
  }

  // A 3D scene less than 450 px wide (a phone, or one of several panels side by side) cuts the tick labels
  // at its edges: its perspective camera steps back a little (an orthographic one: see fitOrthographic).
  function stepBack(layout, data, width) {
    panels(layout, data).forEach(function (p) {
      if (p.kind !== "3d") return;
      var scene = layout[p.key], camera = scene.camera || {};
      if (camera.projection && camera.projection.type === "orthographic") return;
      var domain = (scene.domain && scene.domain.x) || [0, 1];
      if ((domain[1] - domain[0]) * width >= 450) return;
      var eye = camera.eye || {x: 1.25, y: 1.25, z: 1.25};
      scene.camera = Object.assign({}, camera, {eye: {x: eye.x * 1.2, y: eye.y * 1.2, z: eye.z * 1.2}});
    });
  }

  function adapt(fig, width) {
    var layout = clone(fig.layout || {});
    var data = fig.data;
    var narrow = width < NARROW;
    delete layout.width;
    layout.autosize = true;
    layout.margin = Object.assign({l: 10, r: 10, t: 60, b: 30}, layout.margin || {});
    if (narrow) {
      layout.margin.l = Math.min(layout.margin.l, 40); layout.margin.r = Math.min(layout.margin.r, 10);
      var stacked = stack(layout, data, width), orthographic = false;
      Object.keys(layout).forEach(function (key) {
        if (/^scene\d*$/.test(key)) {
          var camera = layout[key].camera || {};
          orthographic = orthographic || !!(camera.projection && camera.projection.type === "orthographic");
        }
      });
      if (!stacked && !orthographic)
        layout.height = Math.max(320, Math.round((layout.height || 450) * Math.min(1, width / DESIGN_WIDTH)));
      layout.legend = Object.assign({}, layout.legend || {}, {orientation: "h", x: 0, xanchor: "left",
                                                               y: 0, yanchor: "top", font: {size: 11}});
      layout.margin.b = Math.max(layout.margin.b, 70);
      (layout.annotations || []).forEach(function (a) {
        if (a.text && (!a.xref || a.xref === "paper")) a.text = wrap(a.text, width * 0.9, (a.font && a.font.size) || FONT);
      });
    }
    stepBack(layout, data, width);
    var text = titleText(layout);
    if (text) {
      var title = typeof layout.title === "object" ? layout.title : {text: text};
      var size = (title.font && title.font.size) || (layout.font && layout.font.size) || 14;
      var wrapped = wrap(text, width - 20, size * 1.1);
      var lines = wrapped.split(/<br\s*\/?>/i).length;
      title.text = wrapped;
      // in the top margin, placed by its middle (plotly shifts a multi-line title anchored at its top or
      // bottom by a line)
      var block = lines * size * 1.3;
      layout.height = layout.height || 450;
      title.x = 0.5; title.xanchor = "center"; title.xref = "paper";
      title.yref = "container"; title.yanchor = "middle"; title.y = 1 - (8 + block / 2) / layout.height;
      delete title.pad;
      layout.title = title;
      layout.margin.t = Math.max(layout.margin.t, Math.round(block + 22));
    }
    layout.modebar = Object.assign({orientation: "v"}, layout.modebar || {});
    var config = Object.assign({responsive: true, displaylogo: false}, fig.config || {});
    if (narrow) config.displayModeBar = false;
    return {data: data, layout: layout, config: config};
  }

  // An orthographic scene (a grid of parts, viz.side_by_side) keeps its scale when the figure narrows, so its
  // sides would be cut: shrink its aspect ratio (plotly's zoom for such a camera) to fit the width.
  function fitOrthographic(div, width) {
    var full = div._fullLayout, update = {};
    ((full._subplots || {}).gl3d || []).forEach(function (key) {
      var scene = full[key], camera = scene.camera || {};
      if (!(camera.projection && camera.projection.type === "orthographic")) return;
      var f = Math.min(1, width / 480), ar = scene.aspectratio;
      update[key + ".aspectmode"] = "manual";
      update[key + ".aspectratio"] = {x: ar.x * f, y: ar.y * f, z: ar.z * f};
    });
    return Object.keys(update).length ? window.Plotly.relayout(div, update) : Promise.resolve();
  }

  function width(div) { return Math.max(200, Math.floor(div.getBoundingClientRect().width || div.parentNode.clientWidth || 600)); }

  function drawOne(divs, k) {
    if (k >= divs.length) return;
    var div = divs[k];
    var next = function () { setTimeout(function () { drawOne(divs, k + 1); }, 0); };
    var holder = div.nextElementSibling;
    if (!holder || !holder.classList.contains("e3teach-plotly-data")) { div.dataset.drawn = "error"; next(); return; }
    var fig = JSON.parse(holder.textContent);
    var w = width(div);
    var spec = adapt(fig, w);
    div.__e3fig = fig;
    div.__e3narrow = w < NARROW;
    div.style.minHeight = "";
    window.Plotly.newPlot(div, spec.data, spec.layout, spec.config)
      .then(function () { return w < NARROW ? fitOrthographic(div, w) : null; }).then(
      function () { div.dataset.drawn = "1"; next(); },
      function (err) { div.dataset.drawn = "error"; console.error("plotly: " + err); next(); });
  }

  function redrawIfCrossed() {
    document.querySelectorAll("div.e3teach-plotly[data-drawn='1']").forEach(function (div) {
      var w = width(div);
      if ((w < NARROW) === div.__e3narrow) return;
      div.__e3narrow = w < NARROW;
      var spec = adapt(div.__e3fig, w);
      window.Plotly.react(div, spec.data, spec.layout, spec.config).then(function () {
        return div.__e3narrow ? fitOrthographic(div, w) : null;
      });
    });
  }

  function drawAll() {
    drawOne(Array.prototype.slice.call(document.querySelectorAll("div.e3teach-plotly")), 0);
    var timer = null;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(redrawIfCrossed, 250); });
  }
  if (document.readyState === "complete") drawAll();
  else window.addEventListener("load", drawAll);
})();
