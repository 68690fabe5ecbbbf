// Typeset the math that pymdownx.arithmatex marks, and the labs' notebook Markdown (mkdocs-jupyter
// leaves $...$ as written), on first load and after each instant navigation. Only those elements
// are typeset, so a dollar sign anywhere else on a page stays a dollar sign.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  startup: {
    typeset: false,
  },
};

document$.subscribe(() => {
  MathJax.startup.promise.then(() => {
    MathJax.typesetClear();
    MathJax.texReset();
    const math = document.querySelectorAll(".arithmatex, .jp-MarkdownOutput");
    return MathJax.typesetPromise(Array.from(math));
  });
});
