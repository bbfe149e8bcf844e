/* The letter form on a partner's page: one script tag, one iframe, no cookies.
   <script src="https://APP/embed.js" data-campaign="SLUG" data-partner="CODE" async></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.getAttribute("data-campaign")) { return; }
  var app = new URL(script.src, document.baseURI).origin;
  var slug = script.getAttribute("data-campaign");
  var query = new URLSearchParams();
  var partner = script.getAttribute("data-partner");
  if (partner) { query.set("partner", partner); }
  // The host page's own ?source= travels on (the convention partners already tag links with).
  var source = new URLSearchParams(window.location.search).get("source") || script.getAttribute("data-source");
  if (source) { query.set("source", source.slice(0, 100)); }
  query.set("origin", window.location.origin);
  var frame = document.createElement("iframe");
  frame.src = app + "/embed/" + encodeURIComponent(slug) + "?" + query.toString();
  frame.title = script.getAttribute("data-title") || "Write to your MP";
  frame.setAttribute("loading", "lazy");
  frame.style.cssText = "display:block;width:100%;max-width:40rem;border:0;height:32rem";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    // Only our own frame, from the app's own origin, may resize it.
    if (event.origin !== app || event.source !== frame.contentWindow) { return; }
    var data = event.data;
    if (data && data.type === "advocacy-embed:height" && data.height > 0 && data.height < 20000) {
      frame.style.height = Math.ceil(data.height) + "px";
    }
  });
})();
