// Progressive enhancement of "check my words": ask the server, a moment after the person
// stops typing, how close their words are to other letters. Only counts come back.
(function () {
  "use strict";
  var box = document.querySelector("[data-words-url]");
  if (!box || !window.fetch || !window.FormData) { return; }
  var form = box.closest("form");
  var button = box.querySelector("button[name=words_page]");
  var message = box.querySelector(".words-hint");
  if (!form || !button || !message) { return; }
  var fields = form.querySelectorAll("textarea[name=personal_words], textarea[name=body]");
  var timer = null;
  var lastSent = null;
  var stopped = false;

  function words() {
    var parts = [];
    for (var i = 0; i < fields.length; i++) { parts.push(fields[i].value); }
    return parts.join("\n");
  }

  function show(data) {
    message.textContent = "";
    message.classList.toggle("words-hint-close", Boolean(data.close));
    if (data.message) {
      var p = document.createElement("p");
      p.textContent = data.message;
      message.appendChild(p);
    }
  }

  function check(force) {
    var current = words();
    if (stopped || (!force && current === lastSent) || current.trim().length < 20) { return; }
    lastSent = current;
    var body = new FormData(form);
    body.set("words_page", button.value);
    fetch(box.getAttribute("data-words-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      // Too many checks, or the form grew stale: keep the last hint and stop asking.
      if (r.status === 429 || r.status === 400) { stopped = true; return null; }
      return r.ok ? r.json() : null;
    }).then(function (data) { if (data) { show(data); } })
      .catch(function () { /* the button still works */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { check(false); }, 1200);
  }

  for (var i = 0; i < fields.length; i++) { fields[i].addEventListener("input", later); }
  button.addEventListener("click", function (event) {
    event.preventDefault();
    stopped = false;
    check(true);
  });
  if (fields.length && fields[0].value.trim()) { check(false); }
}());
