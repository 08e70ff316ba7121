// Colour theme, before the first paint (so loaded in <head> without defer): a signed-in
// user's saved choice is on <html data-user-theme> (rendered by the server); anyone
// else's is in localStorage. No choice: the system's (CSS prefers-color-scheme).
(function () {
  var root = document.documentElement;
  if (root.hasAttribute("data-user-theme")) return;
  var saved = null;
  try { saved = window.localStorage.getItem("paperfeed-theme"); } catch (e) { /* private mode */ }
  if (saved === "light" || saved === "dark") root.setAttribute("data-theme", saved);
})();
