// Render LaTeX in titles and abstracts with the vendored KaTeX (progressive: without
// JavaScript the LaTeX source stays readable). KaTeX builds DOM from text nodes only and
// runs with trust: false, so abstract text cannot inject markup or links; maxSize and
// maxExpand bound what one formula may cost (no giant boxes, no macro-expansion bombs).
document.addEventListener("DOMContentLoaded", function () {
  if (typeof renderMathInElement !== "function") return;
  document.querySelectorAll(".math").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
        { left: "$", right: "$", display: false }
      ],
      throwOnError: false,
      trust: false,
      strict: "ignore",
      maxSize: 20,
      maxExpand: 200
    });
  });
});
