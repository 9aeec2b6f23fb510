// Parse TeX formulas with KaTeX, as a notebook or a Markdown page renders them.
// stdin: JSON [{"id": "...", "tex": "...", "display": true|false}, ...]
// stdout: JSON [{"id": "...", "error": "KaTeX's message"}, ...], one entry per failure.
// Used by tests/test_formulas.py (npm ci at the repository root installs katex).
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const errors = [];
  for (const { id, tex, display } of JSON.parse(input)) {
    try {
      katex.renderToString(tex, { displayMode: display, throwOnError: true, strict: "ignore" });
    } catch (e) {
      errors.push({ id, error: String(e.message || e) });
    }
  }
  process.stdout.write(JSON.stringify(errors));
});
