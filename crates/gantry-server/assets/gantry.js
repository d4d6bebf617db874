// Gantry's web UI: live updates over server-sent events. Every page works without this script;
// with it, a running run's page and a running task's log update in place.
(function () {
  "use strict";

  // The same words as the server's `format::duration`.
  function duration(ms) {
    var seconds = Math.floor(ms / 1000);
    if (seconds < 1) return ms + "ms";
    if (seconds < 60) return seconds + "." + Math.floor((ms % 1000) / 100) + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m " + pad(seconds % 60) + "s";
    return Math.floor(seconds / 3600) + "h " + pad(Math.floor((seconds % 3600) / 60)) + "m";
  }

  // The same words as the server's `format::relative`.
  function relative(then, now) {
    var seconds = Math.floor((now - then) / 1000);
    if (seconds < 10) return "just now";
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    if (seconds < 172800) return "yesterday";
    if (seconds < 2592000) return Math.floor(seconds / 86400) + " days ago";
    return null; // a date, as the server wrote it
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // Durations of what is still running tick on by themselves.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) el.textContent = duration(Math.max(0, now - since));
    });
  }

  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var then = Date.parse(el.getAttribute("datetime"));
      var text = isNaN(then) ? null : relative(then, now);
      if (text !== null) el.textContent = text;
    });
  }

  function replace(id, html) {
    var el = document.getElementById(id);
    if (el && typeof html === "string") el.innerHTML = html;
  }

  // The run page: swap in the parts that changed, until the run has finished.
  function followRun() {
    var run = document.getElementById("run");
    if (!run || !run.dataset.statusUrl || !window.EventSource) return;
    var url = run.dataset.statusUrl + "?since=" + encodeURIComponent(run.dataset.fingerprint || "");
    var source = new EventSource(url);
    source.addEventListener("update", function (event) {
      var update = JSON.parse(event.data);
      replace("run-header", update.header);
      replace("graph", update.graph);
      replace("artifacts", update.artifacts);
      run.dataset.fingerprint = update.fingerprint;
      run.dataset.result = update.result;
      tick();
      if (update.done) {
        source.close();
        delete run.dataset.statusUrl;
      }
    });
  }

  // A running task's log: append new lines, keeping the view at the bottom if it was there.
  function followLog() {
    var state = document.getElementById("log-state");
    var log = document.getElementById("log");
    if (!state || !log || !state.dataset.followUrl || !window.EventSource) return;
    var url = state.dataset.followUrl + "?after=" + encodeURIComponent(state.dataset.after || "0");
    var source = new EventSource(url);
    source.addEventListener("lines", function (event) {
      var root = document.scrollingElement || document.documentElement;
      var atBottom = root.scrollTop + window.innerHeight >= root.scrollHeight - 48;
      log.insertAdjacentHTML("beforeend", event.data);
      state.dataset.after = event.lastEventId;
      if (atBottom) root.scrollTop = root.scrollHeight;
    });
    source.addEventListener("done", function (event) {
      source.close();
      replace("task-status", event.data);
      state.innerHTML = "";
      delete state.dataset.followUrl;
    });
  }

  // The log's "Times" switch works by CSS alone; the choice is remembered for the next log.
  function rememberTimes() {
    var times = document.getElementById("log-times");
    if (!times) return;
    try {
      times.checked = window.localStorage.getItem("gantry.log-times") === "1";
      times.addEventListener("change", function () {
        window.localStorage.setItem("gantry.log-times", times.checked ? "1" : "0");
      });
    } catch (e) {
      // Storage may be denied (a private window); the switch still works for this page.
    }
  }

  function start() {
    rememberTimes();
    followRun();
    followLog();
    tick();
    setInterval(tick, 1000);
    setInterval(refreshTimes, 30000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
