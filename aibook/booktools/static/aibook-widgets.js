// Loaded between require.js and the ipywidgets embed manager, on pages with saved widgets.
// 1. Tell RequireJS where the embed manager lives, so its fonts load from _static (not a CDN).
// 2. The manager typesets labels with the MathJax 2 API (MathJax.Hub.Queue); the book uses
//    MathJax 3, so map that call onto MathJax 3's typesetPromise.
(function () {
  var root = document.documentElement.dataset.content_root || "./";
  require.config({
    paths: { "@jupyter-widgets/html-manager/dist": root + "_static/jupyter-widgets" },
  });
  function typesetLater(job) {
    var mj = window.MathJax;
    var element = job && job[2];
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(function () {
        return mj.typesetPromise(element ? [element] : undefined);
      });
    }
  }
  function install() {
    if (window.MathJax && !window.MathJax.Hub) {
      window.MathJax.Hub = { Queue: typesetLater };
    }
  }
  install();
  document.addEventListener("DOMContentLoaded", install, { capture: true });
})();
