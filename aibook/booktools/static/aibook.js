// The book's own small fixes of the theme, on every page.
//
// Menu buttons: pydata-sphinx-theme 0.17 (and sphinx-book-theme 1.3 on top of it) bind the click
// of the chapter-list and page-contents buttons to the FIRST .primary-toggle / .secondary-toggle
// of the page, a copy in the navbar that is hidden at every width (pydata-sphinx-theme issue 2451);
// the copies a reader sees, in the article header, do nothing. Forward their clicks to the first copy,
// whose handlers open the sidebar as a dialog (narrow screens) or collapse it (wide screens).
(function () {
  function forwardToggles() {
    ["primary-toggle", "secondary-toggle"].forEach(function (cls) {
      var buttons = document.querySelectorAll("." + cls);
      for (var i = 1; i < buttons.length; i++) {
        buttons[i].addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          buttons[0].click();
        });
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", forwardToggles);
  } else {
    forwardToggles();
  }
})();
