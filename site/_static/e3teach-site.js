// A formula wider than its column (a long inline formula, one in a heading) cannot wrap in MathJax 3: once
// MathJax has typeset the page, each such formula gets the class e3teach-wide-math, which makes it scroll
// sideways in its own box (e3teach-site.css) instead of running off a phone's screen.
(function () {
  function mark() {
    document.querySelectorAll("mjx-container").forEach(function (math) {
      math.classList.remove("e3teach-wide-math");
      var column = math.closest("p, li, h1, h2, h3, h4, td, th, div") || document.body;
      if (math.getBoundingClientRect().right > column.getBoundingClientRect().right + 1 ||
          math.getBoundingClientRect().width > column.clientWidth) math.classList.add("e3teach-wide-math");
    });
  }
  function start() {
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return setTimeout(start, 200);
    MathJax.startup.promise.then(mark);
    var timer = null;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(mark, 250); });
  }
  function maybeStart() { if (document.querySelector("span.math, div.math")) start(); }
  if (document.readyState === "complete") maybeStart(); else window.addEventListener("load", maybeStart);
})();
