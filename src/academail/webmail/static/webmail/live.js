/* academail webmail — live updates. A server-sent event stream says which
   folder changed; the page then asks the small JSON state (counters) and, if
   the open folder changed while its newest page is shown, reloads that list
   in place (checked boxes and focus kept). Without EventSource, or while the
   stream is down, the state is polled every 60 s. The INBOX's unread count
   goes in the tab title: "(3) Boîte de réception — academail". A page
   showing a shared mailbox (the switcher's current entry is not the first,
   the person's own) asks for that owner's folders and events too
   (?proprietaire=<id>; the server checks the rights). */
(function () {
  "use strict";

  var root, stateUrl, eventsUrl, baseTitle, known = {}, timer = null, pollTimer = null, source = null, following = null;
  var POLL_MS = 60000;

  function T(key, fallback, values) {
    var node = document.getElementById("wm-texts");
    var text = (node && node.dataset[key]) || fallback;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }

  function currentMailbox() {
    var link = document.querySelector(".wm-folders a[aria-current=page]");
    var item = link && link.closest("li[data-mailbox]");
    return item ? item.getAttribute("data-mailbox") : null;
  }

  function shownOwner() {
    var link = document.querySelector(".wm-switcher li[data-owner] a[aria-current]");
    var first = document.querySelector(".wm-switcher li[data-owner]");
    var item = link && link.closest("li[data-owner]");
    return item && item !== first ? item.getAttribute("data-owner") : null;
  }

  function scoped(url) {
    var owner = shownOwner();
    return owner ? url + (url.indexOf("?") < 0 ? "?" : "&") + "proprietaire=" + encodeURIComponent(owner) : url;
  }

  function setCount(item, unseen) {
    var link = item.querySelector("a");
    var badge = link.querySelector(".wm-count");
    if (!unseen) { if (badge) { badge.remove(); } return; }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "wm-count";
      link.appendChild(badge);
    }
    badge.textContent = String(unseen);
    var hidden = document.createElement("span");
    hidden.className = "fr-sr-only";
    hidden.textContent = " " + T("unread", "non lus");
    badge.appendChild(hidden);
  }

  function announce(text) {
    var region = document.getElementById("wm-live-region");
    if (region) { region.textContent = text; }
  }

  function refreshList() {
    // Only the newest page of a folder list is refreshed; older pages and
    // other pages (a message, the compose form) keep what the person reads.
    if (!document.querySelector(".wm-list, #wm-bulk") && !document.querySelector(".wm-main h1 .wm-h1-count")) { return; }
    if (/[?&](avant|apres)=/.test(window.location.search)) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html", "X-Academail-Fragment": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".wm-main");
        var main = document.querySelector(".wm-main");
        if (!fresh || !main) { return; }
        var checked = {};
        main.querySelectorAll("input[name=uid]:checked").forEach(function (box) { checked[box.value] = true; });
        var focusedRow = document.activeElement && document.activeElement.closest && document.activeElement.closest("tr[data-uid]");
        var focusedUid = focusedRow ? focusedRow.getAttribute("data-uid") : null;
        var oldBody = main.querySelector(".wm-list tbody"), newBody = fresh.querySelector(".wm-list tbody");
        var oldTitle = main.querySelector("h1"), newTitle = fresh.querySelector("h1");
        if (oldBody && newBody) {
          oldBody.replaceWith(newBody);
          if (oldTitle && newTitle) { oldTitle.replaceWith(newTitle); }
        } else if (!main.contains(document.activeElement)) {
          main.replaceWith(fresh);
          main = fresh;
        } else {
          return;
        }
        main.querySelectorAll("input[name=uid]").forEach(function (box) { if (checked[box.value]) { box.checked = true; } });
        if (focusedUid) {
          var row = main.querySelector('tr[data-uid="' + focusedUid + '"] .wm-list__subject a');
          if (row) { row.focus(); }
        }
        document.dispatchEvent(new CustomEvent("wm:list-updated"));
      })
      .catch(function () { /* next event or poll tries again */ });
  }

  function apply(state) {
    var open = currentMailbox(), grew = false, listChanged = false;
    state.mailboxes.forEach(function (box) {
      var item = document.querySelector('.wm-folders li[data-mailbox="' + box.id + '"]');
      if (item) { setCount(item, box.unseen); }
      var before = known[box.id];
      if (before && box.uidnext > before.uidnext) { grew = grew || box.id === state.inbox; }
      if (before && String(box.id) === open && (box.modseq !== before.modseq || box.uidnext !== before.uidnext)) { listChanged = true; }
      known[box.id] = box;
    });
    var count = state.inbox_unseen;
    document.title = (count ? "(" + count + ") " : "") + baseTitle;
    if (grew) { announce(T("newMail", "Nouveau message reçu.")); }
    if (listChanged) { refreshList(); }
  }

  function fetchState() {
    if (source && shownOwner() !== following) { source.close(); connect(); }
    return fetch(scoped(stateUrl), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state && state.mailboxes) { apply(state); } })
      .catch(function () { /* offline for a moment: the next poll or event tries again */ });
  }

  function soon() {
    // Several events in a burst (a circular, a bulk move) give one request.
    clearTimeout(timer);
    timer = setTimeout(fetchState, 150);
  }

  function startPolling() {
    if (pollTimer) { return; }
    pollTimer = setInterval(fetchState, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function followShown() {
    // In-place navigation may open another owner's mailbox: the quick search
    // searches the one shown ("boite", as the page renders it), and the
    // stream follows it.
    var owner = shownOwner(), form = document.querySelector("form.wm-search");
    var field = form && form.querySelector("input[name=boite]");
    if (form && owner && !field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "boite";
      form.querySelector(".wm-search__row").appendChild(field);
    }
    if (field) { if (owner) { field.value = owner; } else { field.remove(); } }
    if (owner !== following) {
      if (source) { source.close(); connect(); } else { following = owner; }
      soon();
    }
  }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    following = shownOwner();
    source = new EventSource(scoped(eventsUrl));
    source.addEventListener("hello", function () { stopPolling(); soon(); });
    source.addEventListener("change", soon);
    source.addEventListener("error", function () {
      // EventSource reconnects by itself after a dropped stream; a refused one
      // (signed out: 401) is CLOSED for good, so fall back to polling.
      startPolling();
      if (source.readyState === EventSource.CLOSED) { source = null; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.querySelector(".wm[data-live-state]");
    if (!root || !window.fetch) { return; }
    stateUrl = root.getAttribute("data-live-state");
    baseTitle = document.title.replace(/^\(\d+\) /, "");
    // The live region is in the page (webmail layout), so it exists before anything is said.
    document.addEventListener("wm:navigated", function () {
      baseTitle = document.title.replace(/^\(\d+\) /, "");
      followShown();
    });
    fetchState();
    eventsUrl = root.getAttribute("data-live-events");
    connect();
    window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  });
})();
