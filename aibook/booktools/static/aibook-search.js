// The book's search rules, on the search page only (loaded with defer: after Sphinx's searchtools.js,
// before its Search.init runs the query of the address).
//
// 1. A page is found only if it has EVERY word of the query. Sphinx's own rule lets words shorter
//    than 3 characters go missing, so "GPU 显存" found every page with "GPU": most Chinese words
//    have 2 characters.
// 2. A word is found in a page when the page's index has it, or a longer index word that contains
//    it (显存 in 显存占用), the same as Sphinx's partial match but also for 2-character words.
// 3. The glossary's synonyms count as the word (显存 finds "GPU memory", warm-up finds 预热): a
//    word with synonyms is satisfied by any of them (AIBOOK_SEARCH_SYNONYMS, from book/glossary.yml),
//    each looked up in the pages that contain it (AIBOOK_SEARCH_PHRASE_PAGES, found at build time).
// 4. Snippets show formulas as text (θ^* = 3), not as raw TeX (\(\theta^* = 3\)).
(function () {
  "use strict";
  if (typeof Search === "undefined") return;
  var SYNONYMS = window.AIBOOK_SEARCH_SYNONYMS || [];
  var PHRASE_PAGES = window.AIBOOK_SEARCH_PHRASE_PAGES || {};
  var HAN = /\p{Script=Han}/u;
  var stemmer = new Stemmer();
  var has = function (object, key) { return Object.prototype.hasOwnProperty.call(object, key); };

  // The query as groups of alternatives; a page must satisfy every group. An alternative is a
  // glossary term ({phrase: "gpu memory"}) or a word of the query ({words: ["adam"]}).
  function indexWords(text) {
    return splitQuery(text).map(function (word) {
      var lower = word.toLowerCase();
      if (HAN.test(lower) || stopwords.indexOf(lower) !== -1 || /^\d+$/.test(lower)) return lower;
      return stemmer.stemWord(lower);
    }).filter(function (word) {
      // the index keeps no 1-character Chinese word (Sphinx drops them): requiring one finds nothing
      return word && !(HAN.test(word) && word.length < 2) && stopwords.indexOf(word) === -1 && !/^\d+$/.test(word);
    });
  }
  function latinBounded(text, start, end) {
    var before = start > 0 ? text[start - 1] : " ";
    var after = end < text.length ? text[end] : " ";
    return !/[a-z0-9_]/.test(before) && !/[a-z0-9_]/.test(after);
  }
  function queryGroups(query) {
    // " -word" excludes a word: Sphinx's part
    var rest = " " + query.toLowerCase().replace(/(^|\s)-\S+/g, " ") + " ";
    var groups = [];
    // longest synonym first, so "gpu memory" is taken before "gpu"
    var variants = [];
    SYNONYMS.forEach(function (group) {
      group.forEach(function (variant) { variants.push([variant.toLowerCase(), group]); });
    });
    variants.sort(function (a, b) { return b[0].length - a[0].length; });
    variants.forEach(function (pair) {
      var variant = pair[0];
      var at = rest.indexOf(variant);
      while (at !== -1 && !HAN.test(variant) && !latinBounded(rest, at, at + variant.length)) {
        at = rest.indexOf(variant, at + 1);
      }
      if (at === -1) return;
      rest = rest.slice(0, at) + " " + rest.slice(at + variant.length);
      groups.push(pair[1].map(function (v) { return {phrase: v.toLowerCase()}; }));
    });
    indexWords(rest).forEach(function (word) { groups.push([{words: [word]}]); });
    return groups;
  }

  // index word -> the files whose index has it or a longer word containing it
  function filesWith(word) {
    var index = Search._index;
    var found = new Map();  // file -> score
    var add = function (files, score) {
      if (files === undefined) return;
      (files.length === undefined ? [files] : files).forEach(function (file) {
        found.set(file, Math.max(found.get(file) || 0, score));
      });
    };
    add(index.terms[word], Scorer.term);
    add(index.titleterms[word], Scorer.title);
    // a 1-letter Latin word or a 2-letter one ("lr") would match too much as a part of others
    var partial = HAN.test(word) ? word.length > 1 : word.length > 2;
    if (partial) {
      Object.keys(index.terms).forEach(function (term) {
        if (term !== word && term.indexOf(word) !== -1) add(index.terms[term], Scorer.partialTerm);
      });
      Object.keys(index.titleterms).forEach(function (term) {
        if (term !== word && term.indexOf(word) !== -1) add(index.titleterms[term], Scorer.partialTitle);
      });
    }
    return found;
  }
  // a glossary term: the pages whose text has it, found at build time (so "GPU memory" is the
  // phrase, not "GPU" somewhere and "memory" in "long short-term memory")
  function filesWithPhrase(phrase) {
    var index = Search._index;
    var found = new Map();
    (PHRASE_PAGES[phrase] || []).forEach(function (docname) {
      var file = index.docnames.indexOf(docname);
      if (file !== -1) found.set(file, Scorer.term);
    });
    return found;
  }
  function filesWithAll(words) {
    var result = null;
    words.forEach(function (word) {
      var files = filesWith(word);
      if (result === null) { result = files; return; }
      var both = new Map();
      result.forEach(function (score, file) {
        if (files.has(file)) both.set(file, Math.max(score, files.get(file)));
      });
      result = both;
    });
    return result || new Map();
  }

  var groups = [];
  var parseQuery = Search._parseQuery;
  Search._parseQuery = function (query) {
    var parsed = parseQuery(query);
    groups = queryGroups(query);
    // highlight the synonyms too, and find the snippet at whichever of them the page has
    groups.forEach(function (group) {
      group.forEach(function (alternative) {
        (alternative.words || [alternative.phrase]).forEach(function (word) { parsed[3].add(word); });
      });
    });
    return parsed;
  };

  Search.performTermsSearch = function (searchTerms, excludedTerms) {
    var index = Search._index;
    if (!groups.length) return [];
    var matched = null;
    groups.forEach(function (group) {
      var files = new Map();
      group.forEach(function (alternative) {
        var found = alternative.phrase !== undefined ? filesWithPhrase(alternative.phrase)
          : filesWithAll(alternative.words);
        found.forEach(function (score, file) {
          files.set(file, Math.max(files.get(file) || 0, score));
        });
      });
      if (matched === null) { matched = files; return; }
      var both = new Map();
      matched.forEach(function (score, file) {
        if (files.has(file)) both.set(file, Math.max(score, files.get(file)));
      });
      matched = both;
    });
    var results = [];
    matched.forEach(function (score, file) {
      var excluded = [].slice.call(excludedTerms).some(function (term) {
        return [index.terms[term], index.titleterms[term]].some(function (files) {
          return files !== undefined && (files === file || (files.length !== undefined && files.indexOf(file) !== -1));
        });
      });
      if (!excluded) results.push([index.docnames[file], index.titles[file], "", null, score, index.filenames[file]]);
    });
    return results;
  };

  // Title matches and object matches of Sphinx must have every word too (its title match takes
  // "bert 微调" as one string, its object match any one word): keep only pages found above.
  var performSearch = Search._performSearch;
  Search._performSearch = function (query, searchTerms, excludedTerms, highlightTerms, objectTerms) {
    var pages = new Set(Search.performTermsSearch(searchTerms, excludedTerms).map(function (r) { return r[0]; }));
    return performSearch(query, searchTerms, excludedTerms, highlightTerms, objectTerms)
      .filter(function (result) { return pages.has(result[0]); });
  };

  // ---- formulas as text in the snippets ----
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ", eta: "η",
    theta: "θ", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ", sigma: "σ",
    tau: "τ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω", Gamma: "Γ", Delta: "Δ",
    Theta: "Θ", Lambda: "Λ", Sigma: "Σ", Phi: "Φ", Omega: "Ω", Pi: "Π",
    times: "×", cdot: "·", div: "÷", pm: "±", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠",
    neq: "≠", approx: "≈", sim: "∼", propto: "∝", to: "→", rightarrow: "→", leftarrow: "←",
    Rightarrow: "⇒", infty: "∞", partial: "∂", nabla: "∇", sum: "Σ", prod: "∏", int: "∫",
    in: "∈", notin: "∉", subset: "⊂", cup: "∪", cap: "∩", forall: "∀", exists: "∃", ldots: "…",
    cdots: "⋯", dots: "…", top: "ᵀ", log: "log", ln: "ln", exp: "exp", max: "max", min: "min",
    arg: "arg", sin: "sin", cos: "cos", tanh: "tanh", softmax: "softmax", lVert: "‖", rVert: "‖",
    Vert: "‖", mid: "|", vert: "|", langle: "⟨", rangle: "⟩", odot: "⊙", otimes: "⊗", circ: "∘",
    quad: " ", qquad: " ", ",": " ", ";": " ", "!": "", " ": " ", "{": "{", "}": "}", "%": "%",
    "_": "_", "&": "&", "#": "#", "\\": " ",
  };
  function texToText(tex) {
    var text = tex.trim().replace(/^\\[([]|\\[)\]]$/g, "").replace(/^\$+|\$+$/g, "");
    // \frac{a}{b} -> a/b, innermost first
    for (var i = 0; i < 10 && /\\[dt]?frac\s*\{/.test(text); i++) {
      text = text.replace(/\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, function (m, a, b) {
        var wrap = function (s) { return /^[\w\p{L}.]+$/u.test(s.trim()) ? s.trim() : "(" + s.trim() + ")"; };
        return wrap(a) + "/" + wrap(b);
      });
    }
    text = text
      .replace(/\\sqrt\s*\{([^{}]*)\}/g, "√($1)")
      .replace(/\\(?:begin|end)\s*\{[^{}]*\}/g, " ")
      .replace(/\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*\\?/g, "")
      .replace(/\\(?:mathrm|mathbf|mathit|mathcal|mathbb|boldsymbol|bm|text|textbf|textrm|operatorname|hat|bar|tilde|vec|overline|underline|mathsf|mathtt)\s*/g, "")
      .replace(/\\([a-zA-Z]+)|\\(.)/g, function (m, name, sign) {
        var key = name || sign;
        return has(SYMBOLS, key) ? SYMBOLS[key] : "";
      })
      .replace(/[{}]/g, "")
      .replace(/&/g, " ")
      .replace(/\s+/g, " ");
    return text.trim();
  }
  var htmlToText = Search.htmlToText;
  Search.htmlToText = function (htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(".math").forEach(function (el) { el.textContent = " " + texToText(el.textContent) + " "; });
    return htmlToText(doc.documentElement.outerHTML, anchor);
  };
  window.aibookSearch = { queryGroups: queryGroups, texToText: texToText };
})();
