// alphanode dashboard: live figures, local times, and an error collector. Served by anp serve
// (no build step, no CDN). Pages work without it.
(function () {
  "use strict";
  // Every uncaught error, for people (shown at the bottom) and for the browser tests.
  window.__anpErrors = [];
  window.addEventListener("error", function (e) {
    window.__anpErrors.push(String(e.message || e));
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    window.__anpErrors.push("CSP violation: " + e.violatedDirective + " " + e.blockedURI);
  });
  window.addEventListener("unhandledrejection", function (e) {
    window.__anpErrors.push("unhandled rejection: " + String(e.reason));
  });

  function localTimes() {
    // <time datetime="…Z"> shows UTC; add the viewer's zone beside it.
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    document.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime()) || t.dataset.local) { return; }
      t.dataset.local = "1";
      var s = document.createElement("span");
      s.className = "local-time";
      s.textContent = " (" + d.toLocaleString() + (zone ? " " + zone : "") + ")";
      t.after(s);
    });
  }

  function live() {
    var fields = document.querySelectorAll("[data-live]");
    if (!fields.length) { return; }
    var base = document.body.dataset.base || "";
    var every = 5000;
    var timer = null;
    function poll() {
      window.clearTimeout(timer);
      fetch(base + "/ui/live.json", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (j && j.values) {
            fields.forEach(function (el) {
              var v = j.values[el.dataset.live];
              if (typeof v === "string" && el.textContent !== v) { el.textContent = v; }
            });
            if (j.interval_ms) { every = Math.max(1000, j.interval_ms); }
          }
        })
        .catch(function () { /* offline for a moment: keep the page as it is */ })
        .then(function () { if (!document.hidden) { timer = window.setTimeout(poll, every); } });
    }
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
    timer = window.setTimeout(poll, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes();
    live();
    document.body.dataset.ready = "1";
  });
})();
