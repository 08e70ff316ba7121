// Progressive enhancement: vote without a page reload. Every form still works without it.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("form[data-vote]") || !window.fetch) return;
  event.preventDefault();
  var button = form.querySelector("button");
  button.disabled = true;
  fetch(form.action, {
    method: "POST",
    body: new URLSearchParams(new FormData(form)),
    headers: { "Accept": "application/json" },
    credentials: "same-origin"
  }).then(function (response) {
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }).then(function (data) {
    button.setAttribute("aria-pressed", data.voted ? "true" : "false");
    button.querySelector(".count").textContent = String(data.upvotes);
  }).catch(function () {
    form.submit();
  }).finally(function () {
    button.disabled = false;
  });
});

// "Copy BibTeX" and other copy buttons: data-copy names the element whose text is copied.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button || !navigator.clipboard) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) return;
  navigator.clipboard.writeText(source.textContent).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});

// Theme toggle (footer): system -> dark -> light -> system. Kept in localStorage; for a
// signed-in user also saved on the account (the form posts to /settings/theme).
(function () {
  var NEXT = { "": "dark", "dark": "light", "light": "" };
  var form = document.querySelector("form[data-theme-toggle]");
  if (!form) return;
  var root = document.documentElement;
  var button = form.querySelector("button");
  function show(theme) {
    button.textContent = "Theme: " + (theme || "system");
    button.value = NEXT[theme];
  }
  show(root.getAttribute("data-theme") || "");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var theme = button.value;
    if (theme) root.setAttribute("data-theme", theme); else root.removeAttribute("data-theme");
    try { window.localStorage.setItem("paperfeed-theme", theme); } catch (e) { /* private mode */ }
    show(theme);
    if (root.hasAttribute("data-user-theme") && window.fetch) {
      root.setAttribute("data-user-theme", theme);
      var body = new URLSearchParams(new FormData(form));
      body.set("theme", theme);
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                           headers: { "Accept": "application/json" } });
    }
  });
})();

// Keyboard navigation on listings: j / k move between paper cards, o opens the current
// one, u upvotes it. Ignored while typing in a field or with a modifier key held.
(function () {
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var key = event.key;
    if (key !== "j" && key !== "k" && key !== "o" && key !== "u") return;
    var cards = Array.prototype.slice.call(document.querySelectorAll("li.card"));
    if (!cards.length) return;
    var marked = document.querySelector("li.card.kbd-current");
    var inside = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("li.card") : null;
    var current = cards.indexOf(inside || marked);
    if (key === "j" || key === "k") {
      var next = key === "j" ? Math.min(current + 1, cards.length - 1) : Math.max(current - 1, 0);
      if (marked) marked.classList.remove("kbd-current");
      var card = cards[next];
      card.classList.add("kbd-current");
      card.setAttribute("tabindex", "-1");
      card.focus();
      card.scrollIntoView({ block: "nearest" });
      event.preventDefault();
    } else if (current >= 0) {
      var target = cards[current].querySelector(key === "o" ? ".card-title a" : ".vote-button");
      if (target) { target.click(); event.preventDefault(); }
    }
  });
})();
