// Live preview for the letter editor: re-renders the preview a moment after typing stops.
// Without this script the Preview button does the same with a full page load.
(function () {
  "use strict";
  var form = document.getElementById("letter-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var latest = 0;

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value || ""; }
  }

  function show(data) {
    var list = document.getElementById("preview-problems");
    if (list) {
      list.textContent = "";
      (data.problems || []).forEach(function (problem) {
        var item = document.createElement("li");
        item.textContent = problem.message;
        list.appendChild(item);
      });
    }
    if (!data.ok) { return; }
    setText("preview-from", data.from);
    setText("preview-to", data.to);
    setText("preview-reply-to", data.reply_to);
    setText("preview-subject", data.subject);
    setText("preview-body", data.body);
    setText("preview-signature", data.signature);
  }

  function refresh() {
    var mine = ++latest;
    var body = new FormData(form);
    body.set("action", "preview");
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) { if (mine === latest && !data.error) { show(data); } })
      .catch(function () { /* the Preview button still works */ });
  }

  function soon() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 350);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
}());
