/* academail webmail — keyboard shortcuts and their help dialog ("?").
   Every shortcut does what a visible link or button of the page does (the
   pages work without JavaScript); none fires while typing in a field or
   with Ctrl/Alt/Meta held, so browser and screen-reader keys stay intact. */
(function () {
  "use strict";

  var dialog, opener, current = -1, pendingG = 0;

  function typing(event) {
    var t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return true; }
    if (!t || !t.tagName) { return false; }
    var tag = t.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".wm-list tbody tr[data-uid]"));
  }

  function setCurrent(index) {
    var list = rows();
    if (!list.length) { return; }
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row) { row.classList.remove("wm-current"); row.removeAttribute("aria-current"); });
    var row = list[index];
    row.classList.add("wm-current");
    row.setAttribute("aria-current", "true");
    current = index;
    var link = row.querySelector(".wm-list__subject a");
    if (link) { link.focus(); }
  }

  function currentRow() {
    var list = rows();
    if (current < 0) {
      // Focus may already be inside a row (Tab, or a click).
      var inside = document.activeElement && document.activeElement.closest && document.activeElement.closest("tr[data-uid]");
      if (inside) { current = list.indexOf(inside); }
    }
    return current >= 0 ? list[current] : null;
  }

  function click(key) {
    var target = document.querySelector('[data-shortcut="' + key + '"]');
    if (target) { target.click(); return true; }
    return false;
  }

  function writeUrl(mode, row) {
    var write = document.querySelector('[data-shortcut="c"]');
    if (!write) { return null; }
    return write.getAttribute("href") + "?mode=" + mode + "&source=" + row.getAttribute("data-mailbox") + "-" + row.getAttribute("data-uid");
  }

  /* A list action on the checked messages, or on the current one if none is checked. */
  function listAction(choose) {
    var form = document.getElementById("wm-bulk");
    var row = currentRow();
    if (!form) { return; }
    var checked = document.querySelectorAll('input[name=uid][form="wm-bulk"]:checked');
    if (!checked.length) {
      if (!row) { return; }
      var box = row.querySelector("input[name=uid]");
      if (!box) { return; }
      box.checked = true;
    }
    var action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = choose(row);
    form.appendChild(action);
    if (window.academailInPlace) { window.academailInPlace.send(form); } else { form.submit(); }
  }

  function openHelp() {
    opener = document.activeElement;
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    var close = document.getElementById("wm-shortcuts-close");
    if (close) { close.focus(); }
  }

  function closeHelp() {
    if (dialog.open) { dialog.close(); }
  }

  function trapFocus(event) {
    if (event.key !== "Tab") { return; }
    var items = dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])");
    if (!items.length) { return; }
    var first = items[0], last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
  }

  function onKey(event) {
    if (dialog && dialog.open) { return; }  // the dialog handles its own keys (Esc, Tab)
    if (typing(event)) { return; }
    var key = event.key;
    var row;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      if (key === "i") {
        var inbox = document.querySelector('.wm-folders li[data-use="inbox"] a');
        if (inbox) { event.preventDefault(); inbox.click(); }  // in place (inplace.js) or a page load
        return;
      }
    }
    pendingG = 0;
    switch (key) {
      case "?":
        event.preventDefault(); openHelp(); return;
      case "g":
        pendingG = Date.now(); return;
      case "j":
        event.preventDefault(); setCurrent(currentRow() ? current + 1 : 0); return;
      case "k":
        event.preventDefault(); setCurrent(currentRow() ? current - 1 : 0); return;
      case "o":
      case "Enter":
        row = currentRow();
        if (row && !(key === "Enter" && document.activeElement && document.activeElement.tagName === "A")) {
          var link = row.querySelector(".wm-list__subject a");
          if (link) { event.preventDefault(); link.click(); }
        }
        return;
      case "/":
        var search = document.getElementById("wm-q");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        return;
      case "c":
        event.preventDefault(); click("c"); return;
      case "r":
      case "a":
      case "f":
        event.preventDefault();
        if (click(key)) { return; }
        row = currentRow();
        if (row) {
          var url = writeUrl({ r: "reply", a: "all", f: "forward" }[key], row);
          if (url) { window.location.href = url; }
        }
        return;
      case "#":
      case "Delete":
        event.preventDefault();
        if (!click("#")) { listAction(function () { return "delete"; }); }
        return;
      case "m":
        event.preventDefault();
        if (!click("m")) {
          listAction(function (r) { return r && r.classList.contains("wm-unread") ? "seen" : "unseen"; });
        }
        return;
      case "s":
        event.preventDefault();
        if (!click("s")) {
          listAction(function (r) { return r && r.querySelector(".wm-mark--flag") ? "unflag" : "flag"; });
        }
        return;
      default:
        return;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    dialog = document.getElementById("wm-shortcuts");
    if (!dialog) { return; }
    var show = document.querySelector(".wm-shortcuts-open");
    if (show) { show.hidden = false; }
    var button = document.getElementById("wm-shortcuts-button");
    if (button) { button.addEventListener("click", openHelp); }
    var close = document.getElementById("wm-shortcuts-close");
    if (close) { close.addEventListener("click", closeHelp); }
    dialog.addEventListener("keydown", trapFocus);
    dialog.addEventListener("close", function () {
      if (opener && opener.focus) { opener.focus(); }
    });
    // A click on the backdrop closes the dialog too.
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { closeHelp(); } });
    document.addEventListener("keydown", onKey);
  });
})();
