// Progressive enhancement of the journey's pages; each works the same without it.
(function () {
  "use strict";

  // After a form comes back with errors, start where the problems are listed.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }

  // The printable letter's Print button needs a script, so it is shown only here; without
  // one the page names the browser's own Print command.
  var printButton = document.querySelector("button[data-print]");
  if (printButton && window.print) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
    var help = document.querySelector(".print-help");
    if (help) { help.hidden = true; }
  }

  // Characters counted as the server counts them (validation.multiline_filter, then len):
  // every kind of line break is one newline, other control characters are dropped, the
  // ends are trimmed of what Python's str.strip() trims (not the BOM, which JavaScript's
  // trim() would also take), and each code point is one character.
  var LINE_BREAKS = /\r\n|[\r\v\f\x85\u2028\u2029]/g;
  var CONTROLS = /[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]/g;
  var SPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+";
  var ENDS = new RegExp("^" + SPACE + "|" + SPACE + "$", "g");

  function measure(value) {
    var text = value.replace(LINE_BREAKS, "\n").replace(CONTROLS, "").replace(ENDS, "");
    var pairs = text.match(/[\ud800-\udbff][\udc00-\udfff]/g);
    return text.length - (pairs ? pairs.length : 0);
  }

  function number(n) { return n.toLocaleString("en-GB"); }

  function characters(n) { return number(n) + (n === 1 ? " character" : " characters"); }

  function describe(n, min, max) {
    if (n < min) { return characters(n) + " so far: at least " + number(min) + " are needed."; }
    if (n > max) { return characters(n) + ": " + number(n - max) + " too many."; }
    return characters(n) + ": " + number(max - n) + " left.";
  }

  function counter(field) {
    var min = parseInt(field.getAttribute("minlength") || "0", 10);
    // The limit is data-maxlength (see _macros.html): nothing typed or pasted is cut off.
    var max = parseInt(field.getAttribute("data-maxlength") || "0", 10);
    if (!max) { return; }
    // Shown at once as the person types; read out only once they pause, so a screen
    // reader is not talking over every key.
    var shown = document.createElement("p");
    shown.className = "hint char-count";
    shown.setAttribute("aria-hidden", "true");
    var spoken = document.createElement("p");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    spoken.id = field.id + "-count";
    field.parentNode.insertBefore(spoken, field.nextSibling);
    field.parentNode.insertBefore(shown, field.nextSibling);
    var timer = null;

    function update(announce) {
      var n = measure(field.value);
      var message = describe(n, min, max);
      shown.textContent = message;
      shown.classList.toggle("char-count-over", n > max);
      if (!announce) { return; }
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { spoken.textContent = message; }, 1000);
    }

    field.addEventListener("input", function () { update(true); });
    update(false);
  }

  var counted = document.querySelectorAll("textarea[data-count]");
  for (var i = 0; i < counted.length; i++) { counter(counted[i]); }

  // Text boxes grow with their text: site.css asks for field-sizing, and where a browser
  // does not know it, the box is set to its content's height (within the CSS min and max).
  var sized = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");
  var boxes = sized ? [] : document.querySelectorAll("form textarea");

  function grow(box) {
    box.style.height = "0";
    box.style.height = (box.scrollHeight + box.offsetHeight - box.clientHeight) + "px";
  }

  function growAll() { for (var j = 0; j < boxes.length; j++) { grow(boxes[j]); } }

  for (var k = 0; k < boxes.length; k++) {
    boxes[k].addEventListener("input", function (event) { grow(event.target); });
  }
  if (boxes.length) {
    window.addEventListener("resize", growAll);
    growAll();
  }
}());
