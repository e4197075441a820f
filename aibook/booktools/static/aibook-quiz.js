// The self-check at the end of a section page (rendered by aibook/booktools/site_quiz.py).
// Instant feedback in the page, no kernel and no network; radio buttons and text fields are
// native controls, so Tab, arrow keys, Space and Enter work as everywhere else.
(function () {
  function show(question, ok, html) {
    var box = question.querySelector(".aibook-quiz-feedback");
    box.className = "aibook-quiz-feedback " + (ok ? "is-right" : "is-wrong");
    box.innerHTML = (ok ? "<strong>✔ 正确。</strong>" : "<strong>✘ 不对。</strong>") + html;
  }

  function setUpChoice(question) {
    question.addEventListener("change", function (event) {
      var input = event.target;
      if (input.type !== "radio") return;
      show(question, input.dataset.correct === "true", input.dataset.why);
    });
  }

  function parseNumber(text) {
    var cleaned = text.replace(/[，,\s]/g, "").replace(/。/g, ".").replace(/[＋]/g, "+").replace(/[－−]/g, "-");
    return cleaned === "" ? NaN : Number(cleaned);
  }

  function setUpNumeric(question) {
    var input = question.querySelector("input");
    var answer = Number(question.dataset.answer);
    var tolerance = Number(question.dataset.tolerance);
    function check() {
      var value = parseNumber(input.value);
      if (Number.isNaN(value)) {
        show(question, false, "请输入一个数（例如 0.25 或 1e-3）。");
        return;
      }
      if (Math.abs(value - answer) <= tolerance + 1e-12 * Math.abs(answer)) {
        show(question, true, question.dataset.explanation);
      } else {
        show(question, false, (value > answer ? "偏大了。" : "偏小了。") +
             "再算一次，或展开下面的“答案与解释”。");
      }
    }
    question.querySelector(".aibook-quiz-check").addEventListener("click", check);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); check(); }
    });
  }

  function init() {
    document.querySelectorAll(".aibook-quiz-question").forEach(function (question) {
      if (question.dataset.kind === "numeric") setUpNumeric(question);
      else setUpChoice(question);
    });
    // printed or saved as PDF, the answers stay folded
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll(".aibook-quiz-answer[open]").forEach(function (d) { d.open = false; });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
