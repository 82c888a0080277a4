/* academail webmail — without a page load. Every page works without this
   script; with it:

   - List actions (read, flag, move, delete...): the list's forms post and the
     server answers with a redirect to the list. Here the same post is sent
     with fetch, the redirect is followed, and only the list region (.wm-main)
     and the notice are swapped in: the folder pane, the scroll position and
     the browser history stay, and focus goes to the notice so screen readers
     hear what happened.
   - Navigation: a folder, a message, a conversation, the next or previous
     page, a sort, "Retour au dossier" and a search are fetched as a fragment
     (request header X-Academail-Fragment: the same view renders the page's
     title, notices and content, not the site's header, footer, styles and
     scripts), then the reading region (.wm-main) and the folder pane are
     swapped, the address goes into the history (pushState; Back and Forward
     swap again), the title changes, focus goes to the new region's heading
     and its text is announced in the live region.

   Any other answer (an error page, a redirect to the sign-in page, a network
   failure) falls back to the plain post or page load. */
(function () {
  "use strict";

  var busy = false;

  /* The answer's HTML, parsed into a detached element of this document
     (innerHTML: its scripts never run, as with DOMParser) rather than a
     separate document whose nodes are adopted one by one when swapped in.
     Returns the element; its <title> (a whole page's is in its head, a
     fragment's at its top) is looked up with titleOf. */
  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    return box;
  }

  function titleOf(box) {
    var title = box.querySelector("title");
    return title ? title.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function notice(doc) {
    var fresh = doc.querySelector(".fr-messages");
    var old = document.querySelector(".fr-messages");
    if (old) { old.remove(); }
    if (!fresh) { return null; }
    var main = document.getElementById("contenu");
    var wm = main && main.querySelector(".wm");
    if (!wm) { return null; }
    main.insertBefore(fresh, wm);
    fresh.setAttribute("tabindex", "-1");
    return fresh;
  }

  function post(action, data, fallback) {
    if (busy || !window.fetch) { fallback(); return; }
    busy = true;
    fetch(action, { method: "POST", body: data, credentials: "same-origin",
                                         headers: { "Accept": "text/html" } })
      .then(function (r) {
        // The action redirects back to this very list (same address, same sort
        // and page): anything else is a page load, not ours to swap.
        var landed = new URL(r.url);
        if (!r.ok || !r.redirected || landed.pathname + landed.search !== window.location.pathname + window.location.search) {
          throw new Error("not this list");
        }
        return r.text().then(function (html) { return { html: html }; });
      })
      .then(function (answer) {
        var doc = parse(answer.html);
        var fresh = doc.querySelector(".wm-main"), main = document.querySelector(".wm-main");
        if (!fresh || !main) { throw new Error("no list"); }
        main.replaceWith(fresh);
        var shown = notice(doc);
        document.dispatchEvent(new CustomEvent("wm:list-updated"));
        if (shown) { shown.focus(); }
        busy = false;
      })
      .catch(function () { busy = false; fallback(); });
  }

  /* The list's form (#wm-bulk) and the scripts that act on the list (drag
     and drop, keyboard shortcuts: they build or fill a form, then call this
     instead of form.submit()). ``submitter``: the button pressed, if any;
     its own formaction (e.g. "Signaler un hameçonnage") wins over the form's,
     as in a plain post (HTML, form submission algorithm). */
  function send(form, submitter) {
    var data = new FormData(form);  // boxes tied by form="wm-bulk" are included
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var action = submitter && submitter.hasAttribute("formaction")
      ? submitter.getAttribute("formaction") : form.getAttribute("action");
    post(action, data, function () {
      if (submitter && submitter.name) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = submitter.name; input.value = submitter.value;
        form.appendChild(input);
      }
      form.setAttribute("action", action);
      HTMLFormElement.prototype.submit.call(form);
    });
  }
  window.academailInPlace = { send: send, go: go };

  /* Navigation. */

  var FRAGMENT = "X-Academail-Fragment";
  var pages = null;   // the webmail addresses that have a fragment (see inPlace)
  var latest = 0;     // the newest navigation wins; an older answer is dropped

  /* From one of those pages to another. Leaving any other page (the compose
     form saves its draft when the page goes away, a settings form) is a page load. */
  function inPlace(url) {
    return pages !== null && url.origin === window.location.origin && pages.test(url.pathname)
      && pages.test(window.location.pathname) && document.querySelector(".wm-main") !== null;
  }

  function swapIn(doc) {
    var fresh = doc.querySelector(".wm-main"), main = document.querySelector(".wm-main");
    if (!fresh || !main) { return null; }
    main.replaceWith(fresh);
    // The folder pane: the open folder and the unread counts. Unchanged (a
    // search, a page of the same folder), it stays: no new nodes to style.
    var body = doc.querySelector(".wm-drawer__body"), oldBody = document.querySelector(".wm-drawer__body");
    if (body && oldBody && body.innerHTML !== oldBody.innerHTML) { oldBody.replaceWith(body); }
    var q = doc.querySelector("#wm-q"), oldQ = document.getElementById("wm-q");
    if (q && oldQ && oldQ !== document.activeElement) { oldQ.value = q.value; }
    // On a phone the drawer was open over the list to choose the folder: close it,
    // as a page load would.
    var drawer = document.getElementById("wm-drawer");
    if (drawer && drawer.open && window.matchMedia && !window.matchMedia(drawer.getAttribute("data-fold")).matches) {
      drawer.open = false;
    }
    notice(doc);
    var title = titleOf(doc);
    if (title) { document.title = title; }
    return fresh;
  }

  function arrive(fresh, scrollY) {
    var heading = fresh.querySelector("h1");
    window.scrollTo(0, scrollY || 0);
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
    var region = document.getElementById("wm-live-region");
    if (region && heading) { region.textContent = heading.textContent.replace(/\s+/g, " ").trim(); }
    document.dispatchEvent(new CustomEvent("wm:list-updated"));
    document.dispatchEvent(new CustomEvent("wm:navigated"));
  }

  /* ``how``: "push" (a click: a new history entry), or "pop" (Back or
     Forward: the entry exists; ``scrollY`` is where the person was). */
  function go(href, how, scrollY) {
    var url = new URL(href, window.location.href);
    if (!window.fetch || !inPlace(url)) { window.location.assign(url.href); return; }
    var ticket = ++latest;
    fetch(url.href, { credentials: "same-origin", headers: { "Accept": "text/html", "X-Academail-Fragment": "1" } })
      .then(function (r) {
        // A redirect (the webmail's address leads to the inbox) keeps the header;
        // one to the sign-in page answers a whole page without it.
        if (!r.ok || r.headers.get(FRAGMENT) !== "1") { throw new Error("not a fragment"); }
        return r.text().then(function (html) { return { html: html, url: r.url }; });
      })
      .then(function (answer) {
        if (ticket !== latest) { return; }
        var doc = parse(answer.html);
        if (!doc.querySelector(".wm-main") || !document.querySelector(".wm-main")) { throw new Error("no region"); }
        // The history entries before the swap: pushState keeps the leaving
        // entry's scroll position, which takes a style recalc of the page when
        // it is dirty (after the swap it was: 5.5 ms at 1,000 messages), and
        // the new title then goes to the new entry.
        if (how === "push") {
          history.replaceState({ wm: true, y: window.scrollY }, "");
          history.pushState({ wm: true, y: 0 }, "", answer.url);
        }
        arrive(swapIn(doc), how === "push" ? 0 : scrollY);
      })
      .catch(function () { if (ticket === latest) { window.location.assign(url.href); } });
  }

  function plainClick(event, link) {
    return event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey
      && !link.hasAttribute("download") && (!link.target || link.target === "_self");
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented) { return; }
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || !plainClick(event, link)) { return; }
    var url = new URL(link.href, window.location.href);
    if (!inPlace(url)) { return; }
    if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) { return; }
    event.preventDefault();
    go(url.href, "push");
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented) { return; }
    if (form.id === "wm-bulk") {
      event.preventDefault();
      send(form, event.submitter);
      return;
    }
    // A search (GET): the same address the browser would build.
    if ((form.getAttribute("method") || "get").toLowerCase() !== "get" || !window.URLSearchParams) { return; }
    var url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    if (!inPlace(url)) { return; }
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    url.search = new URLSearchParams(data).toString();
    event.preventDefault();
    go(url.href, "push");
  });

  window.addEventListener("popstate", function (event) {
    if (event.state && event.state.wm) { go(window.location.href, "pop", event.state.y); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector(".wm[data-pages]");
    if (!root || !window.history || !history.pushState) { return; }
    // "/courrier/" + folder, conversation, message (or one attached to it), search.
    var base = root.getAttribute("data-pages").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    pages = new RegExp("^" + base + "(dossier/\\d+/(conversation/[^/]+/)?|message/\\d+/\\d+/(joint/[\\d-]+/)?|recherche/)?$");
    if ("scrollRestoration" in history) { history.scrollRestoration = "manual"; }
    // The entry this page was loaded in: Back to it swaps too.
    history.replaceState({ wm: true, y: window.scrollY }, "");
  });
})();
