// rpcgate status page: the server renders everything (charts are inline
// SVG), so the page reads without JavaScript. This script only refreshes
// it: every 2 s it fetches the page again and swaps in the new <main>.
// No HTML from anywhere else is used: the document comes from our own
// origin, parsed with DOMParser (scripts in it never run).
"use strict";

(function () {
  var REFRESH_MS = 2000;
  var SOURCE = "status"; // relative: works under a path prefix
  var updated = document.getElementById("updated");
  var announce = document.getElementById("announce");
  var lastOK = null;
  var lastSummary = summary(document);

  function summary(doc) {
    return Array.prototype.map.call(doc.querySelectorAll("section[data-chain]"), function (s) {
      var sum = s.querySelector("[data-summary]");
      return s.dataset.chain + ": " + (sum ? sum.textContent : "");
    }).join("; ");
  }

  function render(text) {
    var doc = new DOMParser().parseFromString(text, "text/html");
    var fresh = doc.getElementById("chains");
    var root = document.getElementById("chains");
    if (!fresh || !root) throw new Error("unexpected page");
    // Keep open "as text" panels open across refreshes.
    var open = {};
    root.querySelectorAll("[data-node-pictures] details[open]").forEach(function (d) {
      open[d.parentNode.dataset.nodePictures] = true;
    });
    fresh.querySelectorAll("[data-node-pictures]").forEach(function (p) {
      if (open[p.dataset.nodePictures]) p.querySelector("details").setAttribute("open", "");
    });
    root.replaceWith(document.adoptNode(fresh));
    lastOK = new Date();
    updated.className = "updated";
    updated.textContent = "Updated " + lastOK.toLocaleTimeString();
    // Screen readers hear changes of the summary only, not every refresh.
    var s = summary(document);
    if (s !== lastSummary) {
      lastSummary = s;
      announce.textContent = s;
    }
  }

  function failed(why) {
    updated.className = "updated stale";
    updated.textContent = lastOK
      ? "Could not refresh (" + why + "); showing data from " + lastOK.toLocaleTimeString()
      : "Could not refresh (" + why + "); retrying…";
  }

  function tick() {
    fetch(SOURCE, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(render)
      .catch(function (e) { failed(e && e.message ? e.message : "network error"); })
      .then(function () { setTimeout(tick, REFRESH_MS); });
  }

  setTimeout(tick, REFRESH_MS);
})();
