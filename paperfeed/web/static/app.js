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
    button.setAttribute("aria-label", (data.voted ? "Remove upvote" : "Upvote") + " (" + data.upvotes + " votes)");
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
