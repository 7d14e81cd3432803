// gladly-webhook inspector: refreshes the parts of a page marked
// data-live="URL" every second, with the page's own filters. The server
// renders and escapes every row; this only swaps them in.
"use strict";
(function () {
  const parts = document.querySelectorAll("[data-live]");
  parts.forEach(function (part) {
    const source = part.getAttribute("data-live") + window.location.search;
    async function refresh() {
      try {
        const answer = await fetch(source, { credentials: "same-origin", cache: "no-store" });
        if (answer.ok) {
          const html = await answer.text();
          if (part.innerHTML !== html) {
            part.innerHTML = html;
          }
        }
      } catch (err) {
        // The server is restarting, or gone: try again next time.
      }
      window.setTimeout(refresh, 1000);
    }
    window.setTimeout(refresh, 1000);
  });
})();
