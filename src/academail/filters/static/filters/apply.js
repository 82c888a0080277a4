// "Appliquer aux messages existants": refresh the progress bar every 2 s from
// the JSON status endpoint while the job runs. Without JavaScript the page's
// "Actualiser" link does the same.
(function () {
  "use strict";
  var box = document.querySelector(".flt-apply__status[data-running]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector(".flt-apply__text");
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
})();
