// Run by aibook/booktools/pdf.py inside the single-page build before Chromium prints it.
// 1. Sphinx's singlehtml nests every page one level below its parent (a section's title ends up as
//    h4): give chapters h1, sections h2 and so on, so the PDF outline reads chapter > section.
// 2. Add a title page (version = git commit and date) and a table of contents.
//    Each self-check quiz keeps its questions; its answers (hidden behind a click on the website)
//    are gathered after the last question, so a reader of paper can try first, then check.
// 3. Wait until MathJax, the fonts and every image are done.
// Returns the outline (id, level, title); window.aibookPdfPageNumbers(pages) later writes the
// page numbers of the first print into the TOC.
async ({ title, version, levels, self }) => {
  while (document.readyState !== "complete") await new Promise((done) => setTimeout(done, 200));
  // links into the page itself (written as "book/index.html#x") become links inside the PDF
  for (const a of document.querySelectorAll("a[href]")) {
    const href = a.getAttribute("href");
    if (href.startsWith(`${self}#`)) a.setAttribute("href", href.slice(self.length));
  }
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;

  // -- 1. heading levels ----------------------------------------------------------------------------
  const docOf = (el) => {
    for (let s = el.closest("section"); s; s = s.parentElement && s.parentElement.closest("section")) {
      const marker = s.previousElementSibling;
      if (marker && marker.id && marker.id.startsWith("document-")) return marker.id.slice("document-".length);
    }
    return null;
  };
  const headings = [...article.querySelectorAll("h1, h2, h3, h4, h5, h6")];
  const base = {};
  for (const h of headings) {
    const doc = docOf(h);
    if (doc !== null && !(doc in base)) base[doc] = Number(h.tagName[1]);
  }
  for (const h of headings) {
    const doc = docOf(h);
    if (doc === null || !(doc in levels)) continue;
    const level = Math.min(6, levels[doc] + Number(h.tagName[1]) - base[doc]);
    if (level === Number(h.tagName[1])) continue;
    const renamed = document.createElement(`h${level}`);
    for (const a of h.attributes) renamed.setAttribute(a.name, a.value);
    renamed.append(...h.childNodes);
    h.replaceWith(renamed);
  }
  for (const marker of article.querySelectorAll("span[id^='document-']")) {
    const doc = marker.id.slice("document-".length);
    const section = marker.nextElementSibling;
    if (section && levels[doc] === 1) section.classList.add("aibook-pdf-chapter");
  }

  // -- quizzes: answers after the questions --------------------------------------------------------
  for (const quiz of article.querySelectorAll("section.aibook-quiz")) {
    const answers = document.createElement("div");
    answers.className = "aibook-pdf-quiz-answers";
    answers.innerHTML = "<p class='aibook-pdf-quiz-answers-title'>本节自测答案</p><ol></ol>";
    for (const details of quiz.querySelectorAll("details.aibook-quiz-answer")) {
      const item = document.createElement("li");
      item.append(...[...details.childNodes].filter((n) => n.nodeName !== "SUMMARY"));
      answers.querySelector("ol").append(item);
      details.remove();
    }
    quiz.append(answers);
  }

  // -- 2. title page, table of contents, one anchor per outline heading ----------------------------
  // Section ids repeat across pages (id1, id2, ...), so every heading gets its own; a tiny link to
  // itself makes Chromium write a named destination, from which pdf.py reads its page.
  const text = (h) => [...h.childNodes].filter((n) => !(n.classList && (n.classList.contains("headerlink")
    || n.classList.contains("aibook-pdf-anchor")))).map((n) => n.textContent).join("").replace(/\s+/g, " ").trim();
  const outline = [];
  article.querySelectorAll("h1, h2, h3").forEach((h, i) => {
    h.id = `aibook-pdf-${i}`;
    const anchor = document.createElement("a");
    anchor.className = "aibook-pdf-anchor";
    anchor.href = `#${h.id}`;
    anchor.textContent = "\u200b";
    h.append(anchor);
    outline.push([h.id, Number(h.tagName[1]), text(h)]);
  });

  const cover = document.createElement("div");
  cover.className = "aibook-pdf-cover";
  cover.innerHTML = `<p class="aibook-pdf-title"></p><p class="aibook-pdf-subtitle">Large AI Models: an executable textbook</p>
    <p class="aibook-pdf-version"></p>
    <p class="aibook-pdf-note">本 PDF 由 <code>make pdf</code> 从与网站相同的、经测试验证的笔记本输出生成。
    交互图在这里换成了静态图；练习与参考答案请在网站或笔记本包中使用。</p>`;
  cover.querySelector(".aibook-pdf-title").textContent = title;
  cover.querySelector(".aibook-pdf-version").textContent = `版本 ${version}`;

  const toc = document.createElement("nav");
  toc.className = "aibook-pdf-toc";
  toc.innerHTML = "<p class='aibook-pdf-toc-title'>目录</p><ol></ol>";
  const list = toc.querySelector("ol");
  for (const [id, level, label] of outline) {
    if (level > 2) continue;
    const item = document.createElement("li");
    item.className = `aibook-pdf-toc-h${level}`;
    item.dataset.target = id;
    const link = document.createElement("a");
    link.href = `#${id}`;
    link.textContent = label;
    const page = document.createElement("span");
    page.className = "aibook-pdf-toc-page";
    page.textContent = "000";  // as wide as the real number, so the second print paginates alike
    item.append(link, page);
    list.append(item);
  }
  article.prepend(cover, toc);
  document.body.replaceChildren(article);  // nothing of the website's frame (header, sidebars) is printed

  // -- 3. wait for math, fonts and images -----------------------------------------------------------
  // MathJax is a deferred script: on a page this long it starts well after "load" and "networkidle"
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  if (document.querySelector(".math, .tex2jax_process, .mathjax_process")) {
    for (let waited = 0; !(window.MathJax && window.MathJax.startup && window.MathJax.typesetPromise); waited += 200) {
      if (waited > 600000) throw new Error("MathJax did not start within 10 minutes");
      await sleep(200);
    }
    await window.MathJax.startup.promise;
    await window.MathJax.typesetPromise();
  }
  // decode() settles once the image is loaded and decoded (or has failed): never a fixed time
  await Promise.all([...document.images].map((img) => { img.loading = "eager"; return img.decode().catch(() => null); }));
  await document.fonts.ready;

  window.aibookPdfPageNumbers = (pages) => {
    // pages: {heading id: page number} from the first print
    for (const item of list.querySelectorAll("li")) {
      const page = pages[item.dataset.target];
      if (page) item.querySelector(".aibook-pdf-toc-page").textContent = String(page);
    }
  };
  window.aibookPdfReady = true;
  return { outline, math: document.querySelectorAll("mjx-container").length,
           images: document.querySelectorAll("img").length };
}
