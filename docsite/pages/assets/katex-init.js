// Render every formula of the page with KaTeX (served from this site: assets/katex/).
// Markdown pages carry arithmatex's \( \) and \[ \] spans; notebook cells keep $ and $$.
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    throwOnError: false,
  });
});
