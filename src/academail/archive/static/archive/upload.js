// "Importer des messages": send the chosen file in pieces (archive.uploads),
// so that a large mbox survives a dropped connection: each piece says at
// which offset it starts (Upload-Offset); on a network error or a 409 the
// script asks how much arrived and goes on from there. Once whole, the
// form's folder choice queues the import and the page shows it. Without
// JavaScript (or fetch/Blob.slice) the form is posted whole, as before.
(function () {
  "use strict";
  var form = document.getElementById("wm-import-form");
  if (!form || !window.fetch || !window.Blob || !Blob.prototype.slice || !window.FormData) { return; }
  var input = document.getElementById("wm-import-file");
  var status = document.getElementById("wm-import-progress");
  var bar = status.querySelector("progress");
  var text = status.querySelector("[aria-live]");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var chunk = parseInt(form.getAttribute("data-chunk-bytes"), 10) || 8388608;

  function fail(message) {
    var box = document.getElementById("wm-import-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "wm-import-error";
      box.className = "fr-alert fr-alert--error";
      box.setAttribute("role", "alert");
      box.appendChild(document.createElement("p"));
      form.insertBefore(box, form.firstChild);
    }
    box.querySelector("p").textContent = message;
    form.querySelector("button[type=submit]").disabled = false;
    status.hidden = true;
  }

  function json(response) {
    return response.json().then(function (body) { body.status = response.status; return body; });
  }

  function post(url, body, headers) {
    headers = headers || {};
    headers["X-CSRFToken"] = token;
    headers["Accept"] = "application/json";
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body }).then(json);
  }

  function show(done, total) {
    bar.max = total;
    bar.value = done;
    text.textContent = status.getAttribute("data-text")
      .replace("{done}", (done / 1048576).toFixed(1)).replace("{total}", (total / 1048576).toFixed(1));
  }

  function finish(url) {
    var fields = new FormData();
    fields.append("mailbox", form.querySelector("[name=mailbox]").value);
    fields.append("new_folder", form.querySelector("[name=new_folder]").value);
    return post(url + "terminer/", fields).then(function (r) {
      if (r.next) { window.location.assign(r.next); } else { fail(r.error || status.getAttribute("data-failed")); }
    });
  }

  function send(file, url, offset, tries) {
    show(offset, file.size);
    if (offset >= file.size) { return finish(url); }
    var piece = file.slice(offset, Math.min(offset + chunk, file.size));
    return post(url, piece, { "Upload-Offset": String(offset), "Content-Type": "application/octet-stream" })
      .then(function (r) {
        if (r.status === 200 || r.status === 409) { return send(file, url, r.received, 0); }
        fail(r.error || status.getAttribute("data-failed"));
      }, function () {
        if (tries >= 8) { fail(status.getAttribute("data-failed")); return; }
        // The connection dropped: wait, ask how much arrived, go on from there.
        return new Promise(function (resolve) { window.setTimeout(resolve, 1000 * Math.pow(2, Math.min(tries, 5))); })
          .then(function () { return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }); })
          .then(json)
          .then(function (r) { return send(file, url, r.received, tries + 1); },
                function () { return send(file, url, offset, tries + 1); });
      });
  }

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    if (!file || !file.size) { return; }  // the server says what is missing
    event.preventDefault();
    form.querySelector("button[type=submit]").disabled = true;
    status.hidden = false;
    var fields = new FormData();
    fields.append("name", file.name);
    fields.append("size", String(file.size));
    post(form.getAttribute("data-start-url"), fields).then(function (r) {
      if (r.status !== 201) { fail(r.error || status.getAttribute("data-failed")); return; }
      return send(file, r.url, r.received, 0);
    }).catch(function () { fail(status.getAttribute("data-failed")); });
  });
})();
