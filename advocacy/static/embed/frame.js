/* Inside the embedded form: tell the partner's page (and only it) how tall we are. */
(function () {
  "use strict";
  var parentOrigin = document.documentElement.getAttribute("data-parent-origin");
  if (!parentOrigin || window.parent === window) { return; }
  var last = 0;
  function report() {
    var height = document.documentElement.scrollHeight;
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "advocacy-embed:height", height: height }, parentOrigin);
    }
  }
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
  window.addEventListener("load", report);
  report();
})();
