// The self-check at the end of a section page (rendered by aibook/booktools/site_quiz.py).
// Instant feedback in the page, no kernel and no network; radio buttons and text fields are
// native controls, so Tab, arrow keys, Space and Enter work as everywhere else.
// Every answer is kept in this browser (localStorage, nothing leaves it): the page shows it again
// on the next visit and the 我的进度 page (book/progress) counts it.
(function () {
  var KEY = "aibook-progress";

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(KEY) || "{}");
      return saved && typeof saved.answers === "object" && saved.answers ? saved : { answers: {} };
    } catch (error) {
      return { answers: {} };  // storage blocked (private mode) or damaged: start empty
    }
  }

  function store(progress) {
    try { window.localStorage.setItem(KEY, JSON.stringify(progress)); } catch (error) { /* blocked */ }
  }

  // value: the option's index or the number as typed; shown: what the 错题本 quotes
  function remember(id, value, correct, shown) {
    var progress = load();
    progress.answers[id] = { value: String(value), correct: correct, shown: String(shown).slice(0, 60),
                             at: new Date().toISOString() };
    store(progress);
  }

  function show(question, ok, html) {
    var box = question.querySelector(".aibook-quiz-feedback");
    box.className = "aibook-quiz-feedback " + (ok ? "is-right" : "is-wrong");
    box.innerHTML = (ok ? "<strong>✔ 正确。</strong>" : "<strong>✘ 不对。</strong>") + html;
  }

  function setUpChoice(question, saved) {
    function answer(input, keep) {
      var ok = input.dataset.correct === "true";
      show(question, ok, input.dataset.why);
      if (keep) remember(question.id, input.value, ok, input.parentNode.textContent.trim());
    }
    question.addEventListener("change", function (event) {
      if (event.target.type === "radio") answer(event.target, true);
    });
    var input = saved && question.querySelector("input[type=radio][value='" + Number(saved.value) + "']");
    if (input) { input.checked = true; answer(input, false); }
  }

  // What a Chinese input method types: full-width digits and signs (NFKC makes them ASCII), 。 as
  // the decimal point, ， or spaces between digit groups, the unit typed after the number.
  function parseNumber(text, unit) {
    var cleaned = text.normalize("NFKC").trim();
    if (unit && cleaned.endsWith(unit.normalize("NFKC").trim())) {
      cleaned = cleaned.slice(0, cleaned.length - unit.normalize("NFKC").trim().length);
    }
    cleaned = cleaned.replace(/[,\s]/g, "").replace(/[。．]/g, ".").replace(/[−–]/g, "-");
    return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(cleaned) ? Number(cleaned) : NaN;
  }

  function setUpNumeric(question, saved) {
    var input = question.querySelector("input");
    var answer = Number(question.dataset.answer);
    var tolerance = Number(question.dataset.tolerance);
    function check(keep) {
      var value = parseNumber(input.value, question.dataset.unit || "");
      if (Number.isNaN(value)) {
        show(question, false, "请输入一个数（例如 0.25 或 1e-3）。");
        return;
      }
      var ok = Math.abs(value - answer) <= tolerance + 1e-12 * Math.abs(answer);
      if (ok) show(question, true, question.dataset.explanation);
      else show(question, false, (value > answer ? "偏大了。" : "偏小了。") + "再算一次，或展开下面的“答案与解释”。");
      if (keep) remember(question.id, input.value, ok, input.value);
    }
    question.querySelector(".aibook-quiz-check").addEventListener("click", function () { check(true); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); check(true); }
    });
    if (saved) { input.value = saved.value; check(false); }
  }

  function init() {
    var answers = load().answers;
    document.querySelectorAll(".aibook-quiz-question").forEach(function (question) {
      var saved = answers[question.id];
      if (question.dataset.kind === "numeric") setUpNumeric(question, saved);
      else setUpChoice(question, saved);
    });
    // printed or saved as PDF, the answers stay folded
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll(".aibook-quiz-answer[open]").forEach(function (d) { d.open = false; });
    });
  }

  window.aibookProgress = { key: KEY, load: load, store: store, parseNumber: parseNumber };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
