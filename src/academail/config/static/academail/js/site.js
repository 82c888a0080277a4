/* academail — progressive enhancements of the sign-in and account pages.
   Everything works without it; with it: focus goes to the error summary,
   password fields get a show/hide button, and new-password fields a live
   strength meter that asks the server's own policy (same rules as on submit). */
(function () {
  "use strict";

  function focusErrors() {
    var summary = document.querySelector("[data-focus]");
    if (summary) { summary.focus(); return; }
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); }
  }

  function addToggle(input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "fr-btn fr-btn--secondary fr-btn--sm fr-password__toggle";
    button.textContent = "Afficher";
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-label", "Afficher le mot de passe");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? "Masquer" : "Afficher";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      button.setAttribute("aria-label", show ? "Masquer le mot de passe" : "Afficher le mot de passe");
    });
    input.parentNode.appendChild(button);
  }

  function localProblems(value) {
    var problems = [];
    if (value.length < 12) { problems.push("Au moins 12 caractères (encore " + (12 - value.length) + ")."); }
    var missing = [];
    if (!/[a-zà-ÿ]/.test(value)) { missing.push("une minuscule"); }
    if (!/[A-ZÀ-Ý]/.test(value)) { missing.push("une majuscule"); }
    if (!/[0-9]/.test(value)) { missing.push("un chiffre"); }
    if (!/[^A-Za-zÀ-ÿ0-9]/.test(value)) { missing.push("un symbole"); }
    if (missing.length) { problems.push("Il manque " + missing.join(", ") + "."); }
    return problems;
  }

  var LABELS = ["Très faible", "Faible", "Moyen", "Fort", "Très fort"];

  function addMeter(input, url) {
    var meter = document.createElement("div");
    meter.className = "fr-strength";
    meter.id = input.id + "-strength";
    meter.setAttribute("data-score", "0");
    meter.innerHTML = '<div class="fr-strength__bar" aria-hidden="true"><span></span></div>' +
      '<p aria-live="polite"><span class="fr-strength__label">Force du mot de passe : à saisir</span></p><ul></ul>';
    input.parentNode.parentNode.insertBefore(meter, input.parentNode.nextSibling);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(meter.id);
    input.setAttribute("aria-describedby", described.join(" "));
    var label = meter.querySelector(".fr-strength__label");
    var bar = meter.querySelector(".fr-strength__bar span");
    var list = meter.querySelector("ul");
    var timer = null, sequence = 0;
    var token = (input.form.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";

    function show(score, problems) {
      meter.setAttribute("data-score", String(score));
      bar.style.width = ((score + 1) * 20) + "%";
      label.textContent = "Force du mot de passe : " + LABELS[score] +
        (problems.length ? "" : " — il respecte toutes les règles.");
      list.innerHTML = "";
      problems.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
    }

    // After a refused submission the page shows the server's red errors about
    // the new password; once the person types a new one they are stale, and a
    // green "Très fort" beside them would contradict them: the first keystroke
    // withdraws them (the meter judges from then on, with the same policy).
    function withdrawStaleErrors() {
      var form = input.form;
      Array.prototype.forEach.call(form.querySelectorAll("input[autocomplete=new-password]"), function (field) {
        var group = field.closest(".fr-input-group");
        var error = document.getElementById(field.id + "-error");
        if (error) { error.parentNode.removeChild(error); }
        if (group) { group.classList.remove("fr-input-group--error"); }
        field.removeAttribute("aria-invalid");
        var ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id !== field.id + "-error" && id !== "global-error";
        });
        field.setAttribute("aria-describedby", ids.join(" "));
      });
      var summary = document.getElementById("global-error");
      if (summary && !form.querySelector("[aria-invalid=true]")) { summary.parentNode.removeChild(summary); }
    }

    input.addEventListener("input", function () {
      withdrawStaleErrors();
      var value = input.value;
      var problems = localProblems(value);
      show(value ? Math.min(problems.length ? 1 : 2, 4) : 0, problems);
      clearTimeout(timer);
      if (!value || !url || !window.fetch) { return; }
      timer = setTimeout(function () {
        var mine = ++sequence;
        var body = new URLSearchParams();
        body.set("password", value);
        fetch(url, { method: "POST", body: body, credentials: "same-origin",
                     headers: { "X-CSRFToken": token } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && mine === sequence) { show(data.score, data.problems); } })
          .catch(function () { /* the form still checks on submit */ });
      }, 350);
    });
  }

  // Folds: a <details data-fold="(media query)"> is folded behind its
  // <summary> on a phone and open where the query matches (the main
  // navigation, the webmail's folder drawer and action menus). CSS shows
  // them open there even without this; with it, browsers without
  // ::details-content and assistive tools see them open too. On a phone an
  // open fold closes on Escape (focus back on its button) and on a tap elsewhere.
  function follow(fold) {
    var wide = window.matchMedia(fold.getAttribute("data-fold"));
    function apply() { fold.open = wide.matches; }
    apply();
    if (wide.addEventListener) { wide.addEventListener("change", apply); }
    return wide;
  }

  function setUpFolds() {
    if (!window.matchMedia) { return; }
    var folds = [];
    function adopt() {
      Array.prototype.forEach.call(document.querySelectorAll("details[data-fold]:not([data-fold-ready])"), function (fold) {
        fold.setAttribute("data-fold-ready", "");
        folds.push({ element: fold, wide: follow(fold) });
      });
      folds = folds.filter(function (f) { return document.contains(f.element); });
    }
    adopt();
    // A region swapped in by a script (the webmail's in-place list) brings new folds.
    document.addEventListener("wm:list-updated", adopt);
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      folds.forEach(function (f) {
        if (f.element.open && !f.wide.matches && f.element.contains(document.activeElement)) {
          f.element.open = false;
          f.element.querySelector("summary").focus();
        }
      });
    });
    document.addEventListener("click", function (event) {
      folds.forEach(function (f) {
        if (f.element.open && !f.wide.matches && f.element.hasAttribute("data-fold-overlay") && !f.element.contains(event.target)) {
          f.element.open = false;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    setUpFolds();
    Array.prototype.forEach.call(document.querySelectorAll(".fr-password input"), addToggle);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-strength]"), function (input) {
      var form = input.form;
      addMeter(input, form && form.getAttribute("data-strength-url"));
    });
  });
})();
