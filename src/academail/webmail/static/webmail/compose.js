/* academail webmail — the compose page, enhanced: address autocompletion
   (ARIA 1.2 combobox), a small rich-text editor (the textarea stays the plain
   default), attachments by drag-and-drop with the upload's progress, and
   drafts saved into Brouillons every 30 s and when the page is left.
   Without JavaScript the form is the same form and does all of it but the
   extras; the server checks and cleans everything again. */
(function () {
  "use strict";

  var form, token;

  function T(key, fallback, values) {
    var node = document.getElementById("wm-texts");
    var text = (node && node.dataset[key]) || fallback;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }

  function field(name) { return form.querySelector('[name="' + name + '"]'); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function size(bytes) {
    if (bytes < 1024) { return bytes + " o"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(0) + " Ko"; }
    return (bytes / 1024 / 1024).toFixed(1).replace(".", ",") + " Mo";
  }

  /* --- autocompletion ------------------------------------------------------ */

  var counter = 0;

  function combobox(input, url) {
    var id = input.id + "-suggestions";
    var list = el("ul", { id: id, role: "listbox", "class": "wm-suggest", hidden: "" });
    var label = form.querySelector('label[for="' + input.id + '"]');
    if (label) { label.id = label.id || input.id + "-label"; list.setAttribute("aria-labelledby", label.id); }
    input.parentNode.classList.add("wm-combo");
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    input.setAttribute("autocomplete", "off");
    var timer = null, sequence = 0, active = -1, results = [];

    function token() {
      var value = input.value;
      var start = Math.max(value.lastIndexOf(","), value.lastIndexOf(";")) + 1;
      return { start: start, text: value.slice(start).trim() };
    }

    function close() {
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
      results = [];
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      active = index;
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var person = results[index];
      if (!person) { return; }
      var t = token();
      var text = person.name ? person.name.replace(/[",<>]/g, " ").trim() + " <" + person.address + ">" : person.address;
      input.value = input.value.slice(0, t.start) + (t.start ? " " : "") + text + ", ";
      close();
      input.focus();
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function show(people) {
      results = people;
      list.textContent = "";
      if (!people.length) { close(); return; }
      people.forEach(function (person, i) {
        var option = el("li", { role: "option", id: id + "-" + (++counter), "aria-selected": "false" });
        if (person.name) { option.appendChild(el("span", { "class": "wm-suggest__name" }, person.name)); option.appendChild(document.createTextNode(" ")); }
        option.appendChild(el("span", { "class": "wm-suggest__addr" }, person.address));
        if (person.recent) { option.appendChild(el("span", { "class": "wm-suggest__recent" }, " (" + T("recent", "récent") + ")")); }
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(-1);
    }

    input.addEventListener("input", function (event) {
      clearTimeout(timer);
      var t = token();
      if (t.text.length < 2 || t.text.indexOf("@") > 0 && /@[^@]*\./.test(t.text)) { close(); return; }
      timer = setTimeout(function () {
        var mine = ++sequence;
        fetch(url + "?q=" + encodeURIComponent(t.text), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && mine === sequence) { show(data.results || []); } })
          .catch(function () { close(); });
      }, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) {
        if (event.key === "ArrowDown" && token().text.length >= 2) { input.dispatchEvent(new Event("input")); }
        return;
      }
      var n = results.length;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % n); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active <= 0 ? n - 1 : active - 1); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(active); }
      else if (event.key === "Escape") { event.preventDefault(); close(); }
      else if (event.key === "Tab" && active >= 0) { choose(active); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  /* --- rich text ----------------------------------------------------------- */

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function richText() {
    var textarea = field("body"), format = field("format"), html = field("body_html");
    if (!textarea || !format || !html || !document.execCommand) { return; }
    var label = form.querySelector('label[for="' + textarea.id + '"]');
    label.id = label.id || textarea.id + "-label";
    var toggle = el("button", { type: "button", "class": "fr-btn fr-btn--tertiary fr-btn--sm", "aria-pressed": "false", id: "wm-rich-toggle" }, T("richToggle", "Texte enrichi"));
    var bar = el("div", { role: "toolbar", "class": "wm-richbar", "aria-label": T("formatting", "Mise en forme"), hidden: "" });
    var editor = el("div", { contenteditable: "true", role: "textbox", "aria-multiline": "true", "aria-labelledby": label.id, "class": "wm-editor", id: "wm-editor", hidden: "" });
    var buttons = [
      ["bold", T("bold", "Gras"), "G"], ["italic", T("italic", "Italique"), "I"],
      ["insertUnorderedList", T("bullets", "Liste à puces"), "•"], ["insertOrderedList", T("numbers", "Liste numérotée"), "1."],
      ["createLink", T("link", "Lien"), "🔗"], ["blockquote", T("quote", "Citation"), "❝"]
    ];
    buttons.forEach(function (spec) {
      // The name is the French word; the symbol shown is hidden from assistive technology.
      var b = el("button", { type: "button", "class": "wm-richbar__btn", "aria-pressed": "false", "data-command": spec[0], title: spec[1] });
      b.appendChild(el("span", { "aria-hidden": "true" }, spec[2]));
      b.appendChild(el("span", { "class": "fr-sr-only" }, spec[1]));
      b.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the selection
      b.addEventListener("click", function () {
        editor.focus();
        if (spec[0] === "createLink") {
          var url = window.prompt(T("linkPrompt", "Adresse du lien (https://…)"), "https://");
          if (url && /^(https?:|mailto:)/i.test(url)) { document.execCommand("createLink", false, url); }
        } else if (spec[0] === "blockquote") {
          var inQuote = document.queryCommandValue("formatBlock") === "blockquote";
          document.execCommand("formatBlock", false, inQuote ? "div" : "blockquote");
        } else {
          document.execCommand(spec[0], false, null);
        }
        sync();
      });
      bar.appendChild(b);
    });

    function pressed() {
      bar.querySelectorAll("[data-command]").forEach(function (b) {
        var command = b.getAttribute("data-command"), on = false;
        try {
          if (command === "blockquote") { on = document.queryCommandValue("formatBlock") === "blockquote"; }
          else if (command !== "createLink") { on = document.queryCommandState(command); }
        } catch (e) { on = false; }
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }

    function sync() {
      html.value = editor.innerHTML;
      textarea.value = editor.innerText;
      pressed();
    }

    function set(on) {
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      format.value = on ? "html" : "text";
      bar.hidden = !on;
      editor.hidden = !on;
      textarea.hidden = on;
      if (on) {
        if (!html.value) {
          html.value = textarea.value.split("\n").map(function (line) { return "<div>" + (escapeHtml(line) || "<br>") + "</div>"; }).join("");
        }
        editor.innerHTML = html.value;
        editor.focus();
      } else {
        textarea.value = editor.innerText;
        html.value = "";
        textarea.focus();
      }
    }

    toggle.addEventListener("click", function () { set(format.value !== "html"); });
    editor.addEventListener("input", sync);
    document.addEventListener("selectionchange", function () { if (document.activeElement === editor) { pressed(); } });
    textarea.parentNode.insertBefore(toggle, textarea);
    textarea.parentNode.insertBefore(bar, textarea);
    textarea.parentNode.insertBefore(editor, textarea);
    if (format.value === "html" && html.value) { set(true); }
  }

  /* --- attachments --------------------------------------------------------- */

  var files = [];

  function attachments() {
    var input = field("attachments");
    var limit = parseInt(form.getAttribute("data-max-size"), 10) || 0;
    if (!input || !window.DataTransfer) { return; }
    var zone = el("div", { "class": "wm-dropzone", id: "wm-dropzone" });
    zone.appendChild(el("p", {}, T("drop", "Déposez vos fichiers ici, ou utilisez le bouton ci-dessus.")));
    var list = el("ul", { "class": "wm-files", "aria-live": "polite" });
    var total = el("p", { "class": "wm-files__total", id: "wm-files-total" });
    zone.appendChild(list);
    zone.appendChild(total);
    input.parentNode.appendChild(zone);

    function render() {
      var transfer = new DataTransfer(), sum = 0;
      list.textContent = "";
      files.forEach(function (file, index) {
        transfer.items.add(file);
        sum += file.size;
        var item = el("li");
        item.appendChild(el("span", {}, file.name + " (" + size(file.size) + ") "));
        var remove = el("button", { type: "button", "class": "fr-btn fr-btn--tertiary fr-btn--sm" }, T("remove", "Retirer"));
        remove.appendChild(el("span", { "class": "fr-sr-only" }, " " + file.name));
        remove.addEventListener("click", function () { files.splice(index, 1); render(); input.focus(); });
        item.appendChild(remove);
        list.appendChild(item);
      });
      input.files = transfer.files;
      total.textContent = files.length ? T("total", "Total : {used} sur {limit} permis.", { used: size(sum), limit: size(limit) }) : "";
      total.classList.toggle("wm-files__total--over", limit > 0 && sum > limit);
      if (limit > 0 && sum > limit) { total.textContent += " " + T("tooBig", "C'est trop : retirez un fichier."); }
    }

    function add(list) { Array.prototype.forEach.call(list, function (f) { files.push(f); }); render(); }

    input.addEventListener("change", function () {
      // The picker replaces the input's files: keep the ones dropped before.
      var picked = Array.prototype.slice.call(input.files);
      var known = files.filter(function (f) { return picked.indexOf(f) < 0; });
      files = known;
      add(picked);
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        if (Array.prototype.indexOf.call(event.dataTransfer.types, "Files") < 0) { return; }
        event.preventDefault();
        zone.classList.add("wm-dropzone--over");
      });
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("wm-dropzone--over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("wm-dropzone--over");
      add(event.dataTransfer.files);
    });
  }

  /* Sending with attachments goes through XMLHttpRequest to show the upload's
     progress; the answer (the next page, or the form with an error) replaces
     the page exactly as a normal submission would. */
  function submitWithProgress(event) {
    if (event.defaultPrevented || !files.length || !window.XMLHttpRequest || !window.FormData) { return; }
    event.preventDefault();
    var data = new FormData(form, event.submitter || undefined);
    var bar = el("progress", { max: "100", value: "0", id: "wm-upload-progress", "aria-label": T("uploadLabel", "Envoi des pièces jointes") });
    var status = el("p", { role: "status", "class": "wm-upload-status" }, T("uploading", "Envoi en cours : {percent} % ({done} sur {total})", { percent: 0, done: size(0), total: "…" }));
    var zone = document.getElementById("wm-dropzone") || form;
    zone.appendChild(bar);
    zone.appendChild(status);
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.round(e.loaded * 100 / e.total);
      bar.value = percent;
      status.textContent = T("uploading", "Envoi en cours : {percent} % ({done} sur {total})", { percent: percent, done: size(e.loaded), total: size(e.total) });
    });
    xhr.addEventListener("load", function () {
      // The answer is already the next page (its one-time notice "Message
      // envoyé" included): show it, under its own address.
      var url = xhr.responseURL;
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (url && window.history.replaceState) { window.history.replaceState(null, "", url); }
    });
    xhr.addEventListener("error", function () {
      status.textContent = T("uploadFailed", "L'envoi a échoué (connexion interrompue). Votre texte est toujours là : réessayez.");
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
    xhr.send(data);
  }

  /* --- drafts -------------------------------------------------------------- */

  function autosave() {
    var url = form.getAttribute("data-autosave");
    var draft = field("draft");
    if (!url || !draft || !window.fetch) { return; }
    var status = el("p", { role: "status", "class": "wm-autosave", id: "wm-autosave-status" });
    form.querySelector(".wm-toolbar").appendChild(status);
    var saved = snapshot(), inFlight = null, sending = false;

    function snapshot() {
      return ["to", "cc", "bcc", "subject", "body", "body_html", "format"].map(function (n) {
        var f = field(n); return f ? f.value : "";
      }).join("\u0000");
    }

    function save(keepalive) {
      var now = snapshot();
      if (sending || now === saved || inFlight) { return inFlight || Promise.resolve(); }
      var data = new FormData(form);
      data.delete("attachments");
      inFlight = fetch(url, { method: "POST", body: data, credentials: "same-origin", keepalive: !!keepalive,
                              headers: { "X-CSRFToken": token, "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) {
          if (answer.ok && answer.body.draft) {
            draft.value = String(answer.body.draft);
            saved = now;
            var time = new Date().toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
            status.textContent = T("saved", "Brouillon enregistré à {time}.", { time: time });
          } else {
            status.textContent = (answer.body && answer.body.error) || T("saveFailed", "Le brouillon n'a pas pu être enregistré.");
          }
        })
        .catch(function () { status.textContent = T("saveOffline", "Brouillon non enregistré (connexion interrompue) ; nouvel essai dans 30 secondes."); })
        .then(function () { inFlight = null; });
      return inFlight;
    }

    setInterval(function () { save(false); }, 30000);
    form.addEventListener("wm:save-draft", function () { save(false); });  // "save now" (tests, other scripts)
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { save(true); } });
    window.addEventListener("pagehide", function () { save(true); });
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; }
      if (inFlight) {
        // Let the running save finish, so the form names the draft to replace.
        event.preventDefault();
        var submitter = event.submitter;
        inFlight.then(function () { sending = true; form.requestSubmit(submitter || undefined); });
        return;
      }
      sending = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    form = document.getElementById("wm-compose");
    if (!form) { return; }
    token = (field("csrfmiddlewaretoken") || {}).value || "";
    var url = form.getAttribute("data-directory");
    if (url && window.fetch) {
      form.querySelectorAll("input[data-complete]").forEach(function (input) { combobox(input, url); });
    }
    richText();
    attachments();
    autosave();
    form.addEventListener("submit", submitWithProgress);
  });
})();
