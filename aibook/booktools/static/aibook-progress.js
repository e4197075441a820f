// The 我的进度 page (book/progress.md): the learner's answers kept by aibook-quiz.js in this
// browser, counted per chapter against the index of every question that site_quiz.py writes into the
// page, a 错题本 of the wrong answers (a link back and a 重做 button each), and export/import as a file.
(function () {
  var FORMAT = "aibook-progress/1";
  // reading and writing the stored answers: aibook-quiz.js (on every page, loaded before this script)
  var load = function () { return window.aibookProgress.load(); };
  var store = function (progress) { window.aibookProgress.store(progress); };

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(root, index, status) {
    var answers = load().answers;
    root.textContent = "";
    var table = element("table", { "class": "table aibook-progress-table" });
    table.appendChild(element("caption", {}, "各章自测：已答与答对的题数"));
    var head = table.appendChild(element("thead")).appendChild(element("tr"));
    ["章", "题数", "已答", "答对"].forEach(function (name) { head.appendChild(element("th", { scope: "col" }, name)); });
    var body = table.appendChild(element("tbody"));
    var wrong = [], total = { all: 0, answered: 0, correct: 0 };
    index.chapters.forEach(function (chapter) {
      var answered = 0, correct = 0;
      chapter.questions.forEach(function (question) {
        var saved = answers[question.id];
        if (!saved) return;
        answered += 1;
        if (saved.correct) correct += 1;
        else wrong.push({ chapter: chapter, question: question, saved: saved });
      });
      total.all += chapter.questions.length; total.answered += answered; total.correct += correct;
      var row = body.appendChild(element("tr", { "data-chapter": String(chapter.chapter) }));
      row.appendChild(element("th", { scope: "row" }, chapter.title));
      [chapter.questions.length, answered, correct].forEach(function (n) { row.appendChild(element("td", {}, String(n))); });
    });
    var foot = table.appendChild(element("tfoot")).appendChild(element("tr"));
    foot.appendChild(element("th", { scope: "row" }, "合计"));
    [total.all, total.answered, total.correct].forEach(function (n) { foot.appendChild(element("td", {}, String(n))); });
    root.appendChild(table);

    root.appendChild(element("h2", { id: "aibook-wrong-answers" }, "错题本"));
    if (!wrong.length) {
      root.appendChild(element("p", { "class": "aibook-progress-empty" },
        total.answered ? "目前没有答错的题。" : "还没有作答记录：做完任一节末尾的“本节自测”后，这里会列出答错的题。"));
    } else {
      var list = root.appendChild(element("ol", { "class": "aibook-progress-wrong" }));
      wrong.forEach(function (item) {
        var entry = list.appendChild(element("li", { "data-question": item.question.id }));
        var link = entry.appendChild(element("a", { href: item.question.url },
          item.question.page + " · 第 " + item.question.number + " 题"));
        link.setAttribute("class", "aibook-progress-link");
        entry.appendChild(element("span", { "class": "aibook-progress-prompt" }, "：" + item.question.prompt));
        entry.appendChild(element("span", { "class": "aibook-progress-given" },
          "（你的答案：" + (item.saved.shown || item.saved.value) + "）"));
        var retry = entry.appendChild(element("button", { type: "button", "class": "aibook-progress-retry",
          "aria-label": "重做 " + item.question.page + " 第 " + item.question.number + " 题" }, "重做"));
        retry.addEventListener("click", function () {
          var progress = load();
          delete progress.answers[item.question.id];
          store(progress);
          window.location.href = item.question.url;
        });
      });
    }
    if (status) root.appendChild(element("p", { "class": "aibook-progress-status", role: "status" }, status));
  }

  function exportFile() {
    var data = JSON.stringify({ format: FORMAT, exported: new Date().toISOString(), answers: load().answers }, null, 1);
    var link = element("a", { href: URL.createObjectURL(new Blob([data], { type: "application/json" })),
                              download: "aibook-progress-" + new Date().toISOString().slice(0, 10) + ".json" });
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  // Merge a file written by exportFile: for each question the later answer wins.
  function importText(text) {
    var data;
    try { data = JSON.parse(text); } catch (error) { data = null; }
    if (!data || data.format !== FORMAT || typeof data.answers !== "object" || !data.answers) {
      throw new Error("这不是本书导出的进度文件（应为“导出进度”保存的 .json 文件）。");
    }
    var progress = load(), count = 0;
    Object.keys(data.answers).forEach(function (id) {
      var answer = data.answers[id];
      if (!/^quiz-[\w-]+$/.test(id) || !answer || typeof answer.correct !== "boolean") return;
      var mine = progress.answers[id];
      if (!mine || String(answer.at) > String(mine.at)) {
        progress.answers[id] = { value: String(answer.value), correct: answer.correct,
                                 shown: String(answer.shown || answer.value).slice(0, 60), at: String(answer.at) };
        count += 1;
      }
    });
    store(progress);
    return count;
  }

  function init() {
    var root = document.getElementById("aibook-progress");
    var source = document.getElementById("aibook-progress-index");
    if (!root || !source) return;
    var index = JSON.parse(source.textContent);
    var controls = element("div", { "class": "aibook-progress-controls" });
    var exportButton = controls.appendChild(element("button", { type: "button" }, "导出进度"));
    var importLabel = controls.appendChild(element("label", { "class": "aibook-progress-import" }));
    importLabel.appendChild(element("span", {}, "导入进度"));
    var file = importLabel.appendChild(element("input", { type: "file", accept: ".json,application/json" }));
    var clear = controls.appendChild(element("button", { type: "button" }, "清空进度"));
    var view = element("div");
    root.textContent = "";
    root.appendChild(controls);
    root.appendChild(view);
    exportButton.addEventListener("click", exportFile);
    file.addEventListener("change", function () {
      if (!file.files.length) return;
      file.files[0].text().then(function (text) {
        var message;
        try { message = "已导入 " + importText(text) + " 条作答（同一题保留较晚的一次）。"; }
        catch (error) { message = error.message; }
        file.value = "";
        render(view, index, message);
      });
    });
    clear.addEventListener("click", function () {
      if (!window.confirm("清空这个浏览器里保存的全部作答？（可先“导出进度”保存一份）")) return;
      store({ answers: {} });
      render(view, index, "已清空。");
    });
    render(view, index);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
