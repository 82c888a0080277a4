/* academail webmail — move messages by dragging them from the list onto a
   folder of the folder pane. The drop posts the list's own "move" action (the
   same request as the "Déplacer" menu, which stays the keyboard way). A
   dragged row that is checked takes every checked row with it. The rows come
   draggable from the server (partials/message_rows.html): marking them here
   after each in-place swap re-styled all fifty rows a second time. */
(function () {
  "use strict";

  var TYPE = "application/x-academail-uids";

  function draggedUids(row) {
    var box = row.querySelector("input[name=uid]");
    if (box && box.checked) {
      return Array.prototype.map.call(
        document.querySelectorAll('input[name=uid][form="wm-bulk"]:checked'), function (b) { return b.value; });
    }
    return [row.getAttribute("data-uid")];
  }

  function move(uids, target) {
    var bulk = document.getElementById("wm-bulk");
    if (!bulk || !uids.length) { return; }
    var form = document.createElement("form");
    form.method = "post";
    form.action = bulk.getAttribute("action");
    form.hidden = true;
    function add(name, value) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    }
    add("csrfmiddlewaretoken", bulk.querySelector("[name=csrfmiddlewaretoken]").value);
    add("action", "move");
    add("target", target);
    uids.forEach(function (uid) { add("uid", uid); });
    document.body.appendChild(form);
    if (window.academailInPlace) { window.academailInPlace.send(form); } else { form.submit(); }
  }

  function folderOf(event) {
    var item = event.target.closest && event.target.closest(".wm-folders li[data-mailbox]");
    if (!item || item.querySelector("a[aria-current=page]")) { return null; }
    return item;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("wm-bulk")) { return; }
    document.addEventListener("dragstart", function (event) {
      var row = event.target.closest && event.target.closest(".wm-list tbody tr[data-uid]");
      if (!row) { return; }
      var uids = draggedUids(row);
      event.dataTransfer.setData(TYPE, JSON.stringify(uids));
      event.dataTransfer.setData("text/plain", uids.length + " message(s)");
      event.dataTransfer.effectAllowed = "move";
    });
    document.addEventListener("dragover", function (event) {
      var item = folderOf(event);
      if (!item || Array.prototype.indexOf.call(event.dataTransfer.types, TYPE) < 0) { return; }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      item.classList.add("wm-drop-target");
    });
    document.addEventListener("dragleave", function (event) {
      var item = folderOf(event);
      if (item && !item.contains(event.relatedTarget)) { item.classList.remove("wm-drop-target"); }
    });
    document.addEventListener("drop", function (event) {
      var item = folderOf(event);
      if (!item) { return; }
      var data = event.dataTransfer.getData(TYPE);
      if (!data) { return; }
      event.preventDefault();
      item.classList.remove("wm-drop-target");
      move(JSON.parse(data), item.getAttribute("data-mailbox"));
    });
  });
})();
