// Keeps the order page current: polls the server-rendered part of the page that changes as
// the order moves on, and swaps it in when it differs. Without JavaScript the page still
// works; it only needs a reload.
(function () {
  "use strict";
  var POLL_MS = 3000;

  // The swapped region is not itself a live region (it would read out the whole timeline):
  // a separate polite one says the new status when it changes.
  function announce(live) {
    var status = live.querySelector("#order-status");
    var say = document.getElementById("live-announce");
    if (status && say && say.getAttribute("data-status") !== status.getAttribute("data-status")) {
      say.setAttribute("data-status", status.getAttribute("data-status"));
      say.textContent = "The order is now " + status.textContent.trim() + ".";
    }
  }

  function follow(live) {
    var url = live.getAttribute("data-live-url");
    var last = live.innerHTML;
    var timer = window.setInterval(async function () {
      try {
        var response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        if (response.redirected) {  // signed out (or the key was revoked): show the sign-in page
          window.clearInterval(timer);
          window.location.assign(response.url);
          return;
        }
        if (!response.ok) { return; }
        var html = await response.text();
        // Not while someone is working inside the region (selecting text, following a link).
        if (html !== last && !live.contains(document.activeElement)) {
          live.innerHTML = html;
          last = html;
          live.setAttribute("data-refreshed", new Date().toISOString());
          announce(live);
        }
      } catch (ignored) {
        // The server is restarting or the network blinked: the next poll tries again.
      }
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) { follow(live); }
  });
})();
