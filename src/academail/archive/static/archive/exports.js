// "Mes exports": refresh each running export's progress bar every 2 s from
// its JSON status; reload the page when one finishes (to show the download
// link). Without JavaScript the page's "Actualiser" link does the same.
(function () {
  "use strict";
  if (!window.fetch) { return; }
  var boxes = document.querySelectorAll(".wm-export__status[data-running]");
  Array.prototype.forEach.call(boxes, function (box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".wm-export__text");
    var url = box.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          bar.max = s.total || 1;
          bar.value = s.done;
          bar.textContent = s.percent + " %";
          text.textContent = s.text;
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
