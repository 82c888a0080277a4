/* academail webmail — list actions without a page load. Without this script
   the list's forms post and the server answers with a redirect to the list
   (a whole page); with it, the same post is sent with fetch, the redirect is
   followed, and only the list region (.wm-main) and the notice are swapped
   in: the folder pane, the scroll position and the browser history stay, and
   focus goes to the notice so screen readers hear what happened. Any other
   answer (an error page, a network failure) falls back to the plain post. */
(function () {
  "use strict";

  var busy = false;

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
    if (busy || !window.fetch || !window.DOMParser) { fallback(); return; }
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
        var doc = new DOMParser().parseFromString(answer.html, "text/html");
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
  window.academailInPlace = { send: send };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "wm-bulk" || event.defaultPrevented) { return; }
    event.preventDefault();
    send(form, event.submitter);
  });
})();
