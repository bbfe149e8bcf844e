// "Send it from my own email": keep the compose links in step with the letter as the
// person edits it. Everything happens in the page; nothing is sent to the server.
(function () {
  "use strict";
  var box = document.querySelector("[data-self-send]");
  if (!box) { return; }
  var subject = document.querySelector("[name=subject]");
  var body = document.querySelector("textarea[name=body]");
  if (!subject || !body) { return; }
  var to = box.getAttribute("data-to");
  var signature = box.getAttribute("data-signature");

  function text() { return body.value.trim() + "\n\n" + signature + "\n"; }

  function update() {
    var s = encodeURIComponent(subject.value);
    var t = text();
    var links = {
      mailto: "mailto:" + encodeURIComponent(to).replace("%40", "@") + "?subject=" + s +
        "&body=" + encodeURIComponent(t.replace(/\r?\n/g, "\r\n")),
      gmail: "https://mail.google.com/mail/?view=cm&fs=1&to=" + encodeURIComponent(to) +
        "&su=" + s + "&body=" + encodeURIComponent(t),
      outlook: "https://outlook.live.com/mail/0/deeplink/compose?to=" + encodeURIComponent(to) +
        "&subject=" + s + "&body=" + encodeURIComponent(t)
    };
    var anchors = box.querySelectorAll("[data-compose]");
    for (var i = 0; i < anchors.length; i++) {
      anchors[i].setAttribute("href", links[anchors[i].getAttribute("data-compose")]);
    }
  }

  subject.addEventListener("input", update);
  body.addEventListener("input", update);
}());
