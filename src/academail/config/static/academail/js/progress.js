// Progress of a background job (an export, filters applied to existing
// mail...): every element with data-status-url and data-running holds a
// <progress> and a live text ([aria-live]); both are refreshed every 2 s from
// the JSON status at data-status-url ({done, total, percent, text,
// finished}), and the page reloads when the job has finished (to show its
// result or download link). Without JavaScript each page's "Actualiser" link
// does the same.
(function () {
  "use strict";
  if (!window.fetch) { return; }
  var boxes = document.querySelectorAll("[data-status-url][data-running]");
  Array.prototype.forEach.call(boxes, function (box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector("[aria-live]");
    var url = box.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          if (bar) {
            bar.max = s.total || 1;
            bar.value = s.done;
            bar.textContent = s.percent + " %";
          }
          if (text) { text.textContent = s.text; }
          if (s.finished) {
            window.location.reload();
          } else {
            window.setTimeout(poll, 2000);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 2000);
  });
})();
