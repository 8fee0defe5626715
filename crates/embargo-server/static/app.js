// embargo's only script: the CVSS calculator on the triage form, the live
// Markdown preview beside the advisory's details, and moving focus to what
// the last action answered. Pages work without it; the vector field is
// always the source of truth, scores come from the server, which scores
// triage with the same code, and previews are rendered by the server's
// sanitizer (the same one the pages use).
"use strict";

(function () {
  function metricsOf(vector) {
    var out = { order: [], values: {} };
    vector.split("/").slice(1).forEach(function (part) {
      var kv = part.split(":");
      if (kv.length === 2 && kv[0]) {
        out.order.push(kv[0]);
        out.values[kv[0]] = kv[1];
      }
    });
    return out;
  }

  function setUp(input) {
    var version = input.getAttribute("data-calculator");
    var fieldset = document.querySelector('fieldset.calculator[data-version="' + version + '"]');
    if (!fieldset) { return; }
    var selects = Array.prototype.slice.call(fieldset.querySelectorAll("select[data-metric]"));
    var output = fieldset.querySelector("[data-score-for]");
    fieldset.hidden = false;

    function score() {
      var vector = input.value.trim();
      if (!vector) { output.textContent = ""; return; }
      fetch("/cvss?vector=" + encodeURIComponent(vector), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          output.textContent = body.error
            ? body.error
            : "Score " + body.score + " (" + body.severity + ")";
          output.setAttribute("data-score", body.error ? "" : body.score);
        })
        .catch(function () { output.textContent = "The score could not be fetched."; });
    }

    function fromText() {
      var m = metricsOf(input.value.trim());
      selects.forEach(function (s) {
        var v = m.values[s.getAttribute("data-metric")];
        s.value = v === undefined ? "" : v;
      });
      score();
    }

    function fromSelects() {
      var current = metricsOf(input.value.trim());
      var parts = ["CVSS:" + version];
      var base = selects.map(function (s) { return s.getAttribute("data-metric"); });
      selects.forEach(function (s) {
        if (s.value) { parts.push(s.getAttribute("data-metric") + ":" + s.value); }
      });
      // Keep metrics beyond the base ones (threat, environmental) as they were.
      current.order.forEach(function (k) {
        if (base.indexOf(k) < 0) { parts.push(k + ":" + current.values[k]); }
      });
      input.value = parts.join("/");
      if (selects.every(function (s) { return s.value; })) { score(); }
      else { output.textContent = "Choose every metric to see the score."; }
    }

    selects.forEach(function (s) { s.addEventListener("change", fromSelects); });
    input.addEventListener("change", fromText);
    fromText();
  }

  function preview(area) {
    var target = document.getElementById(area.getAttribute("data-preview"));
    var csrf = area.form && area.form.querySelector("input[name=csrf]");
    if (!target || !csrf) { return; }
    var timer = null;
    function render() {
      var body = new URLSearchParams();
      body.set("csrf", csrf.value);
      body.set("text", area.value);
      fetch("/markdown-preview", { method: "POST", credentials: "same-origin", body: body })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { target.innerHTML = html; target.hidden = !html; })
        .catch(function () { target.hidden = true; });
    }
    area.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(render, 300);
    });
    if (area.value.trim()) { render(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-calculator]"), setUp);
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-preview]"), preview);
    var answer = document.getElementById("error") || document.getElementById("done");
    if (answer) { answer.focus(); }
  });
})();
