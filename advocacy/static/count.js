// Progressive enhancement: keep the letter count fresh without reloading the page.
(function () {
  "use strict";
  var banner = document.querySelector("[data-count-url]");
  if (!banner || !window.fetch) { return; }
  var total = banner.querySelector(".count-total");
  function refresh() {
    fetch(banner.getAttribute("data-count-url"), { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && total) { total.textContent = data.total.toLocaleString("en-GB"); } })
      .catch(function () { /* the server-rendered count stays */ });
  }
  setInterval(refresh, 30000);
}());
