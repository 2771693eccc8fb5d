// Syntax colours for generated files and diffs (highlight.js works on the escaped text; it adds spans only).
document.addEventListener("DOMContentLoaded", () => {
  if (window.hljs) {
    window.hljs.configure({ ignoreUnescapedHTML: true });
    document.querySelectorAll("pre code[class*='language-']").forEach((block) => window.hljs.highlightElement(block));
  }
});
