// The book's query splitter (Sphinx puts it into language_data.js as splitQuery).
// Sphinx's own splitter keeps a whole Chinese run as one word, so 交叉熵损失 finds nothing.
// Here each Chinese run is cut by longest match against the words of the search index itself
// (segmented by jieba at build time), so the query uses exactly the index's words.
var splitQuery = function (query) {
  var index = (typeof Search !== "undefined" && Search._index) || null;
  var known = function (word) {
    return !!index && (Object.prototype.hasOwnProperty.call(index.terms, word) ||
                       Object.prototype.hasOwnProperty.call(index.titleterms, word));
  };
  var words = [];
  query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu).forEach(function (part) {
    // "Adam优化器" -> "Adam", "优化器"
    (part.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu) || []).forEach(function (run) {
      if (!/\p{Script=Han}/u.test(run) || !index || known(run)) { words.push(run); return; }
      var found = [];
      var i = 0;
      while (i < run.length) {
        var end = Math.min(run.length, i + 12);
        while (end - i > 1 && !known(run.slice(i, end))) end -= 1;
        if (end - i > 1) { found.push(run.slice(i, end)); i = end; } else { i += 1; }
      }
      // nothing known: keep the run, so the search says honestly that it found nothing
      words.push.apply(words, found.length ? found : [run]);
    });
  });
  return words.filter(function (word) { return word; });
};
