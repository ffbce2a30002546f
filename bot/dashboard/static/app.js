// Steward's dashboard: the little glue htmx does not do itself. No build step; plain ES2017.
(function () {
  "use strict";
  var KEY = "steward.initData";
  // Refusals (401, 403, 404) and failed actions are pages too: show them instead of dropping them.
  if (window.htmx) {
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[2345]..", swap: true },
      { code: "...", swap: false }
    ];
  }

  // Inside Telegram the Mini App's initData comes in the URL fragment (tgWebAppData=…) and, once
  // telegram-web-app.js has loaded, as Telegram.WebApp.initData. Outside Telegram there is none.
  function initData() {
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.initData) return tg.initData;
    var hash = new URLSearchParams(window.location.hash.slice(1));
    var raw = hash.get("tgWebAppData");
    if (raw) {
      try { sessionStorage.setItem(KEY, raw); } catch (e) { /* storage may be blocked in a frame */ }
      return raw;
    }
    try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var data = initData();
    if (data) event.detail.headers["X-Telegram-Init-Data"] = data;
    var csrf = document.body && document.body.getAttribute("data-csrf");
    if (csrf) event.detail.headers["X-CSRF-Token"] = csrf;
  });

  function start() {
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.ready) tg.ready();
    // The server answered "sign in" because a page load cannot carry a header: ask again with it.
    if (document.getElementById("signin") && initData() && window.htmx) {
      var status = document.getElementById("tg-status");
      if (status) status.hidden = false;
      var path = window.location.pathname.replace(/\/+$/, "") === "/app" ? "/app/queue" : window.location.pathname + window.location.search;
      window.htmx.ajax("GET", path, { target: "body", swap: "innerHTML" });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
