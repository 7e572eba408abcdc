// sse-serve dashboard: what the three pages share.
//
// - App.status: the connection state in the header (connecting / live /
//   reconnecting / error), the last event id and how often the stream resumed.
//   The same facts are mirrored on <html data-conn data-last-event-id
//   data-reconnects data-events> so that tests (and curious people) can read them.
// - App.openEventSource: the browser's EventSource, with its state reported.
//   On reconnect the browser itself sends Last-Event-ID; the server replays.
// - App.openStream: fetch() and our own event-stream parser, for viewers that
//   must see every event type (EventSource only delivers the named types a
//   page registered), reconnecting with a Last-Event-ID header like EventSource.
// - small helpers: query parameters, time formatting, one-frame batching.
"use strict";

(function () {
  const root = document.documentElement;

  /** Runs `fn` once in the next animation frame, however often it is asked. */
  function frameBatcher(fn) {
    let scheduled = false;
    return function schedule() {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        fn();
      });
    };
  }

  /** The header's connection indicator. One per page. */
  const status = {
    state: "connecting",
    lastEventId: "",
    note: "",
    reconnects: 0,
    events: 0,
    render: null,
    set(state, note) {
      if (state !== undefined) this.state = state;
      if (note !== undefined) this.note = note;
      this.render();
    },
    sawEvent(id) {
      this.events += 1;
      if (id) this.lastEventId = id;
      this.render();
    },
  };
  status.render = frameBatcher(() => {
    root.dataset.conn = status.state;
    root.dataset.lastEventId = status.lastEventId;
    root.dataset.reconnects = String(status.reconnects);
    root.dataset.events = String(status.events);
    const stateEl = document.getElementById("conn-state");
    const idEl = document.getElementById("conn-id");
    const noteEl = document.getElementById("conn-note");
    if (stateEl) {
      stateEl.dataset.state = status.state;
      stateEl.textContent = status.state;
    }
    if (idEl) idEl.textContent = status.lastEventId || "—";
    if (noteEl) noteEl.textContent = status.note;
  });

  /** Appends a query parameter to a same-origin path. */
  function withParam(path, name, value) {
    const url = new URL(path, location.href);
    url.searchParams.set(name, value);
    return url.pathname + url.search;
  }

  function param(name, fallback = null) {
    const v = new URLSearchParams(location.search).get(name);
    return v === null || v === "" ? fallback : v;
  }

  /** Channel names as the server accepts them (CONTRACT.md). */
  function validChannel(name) {
    return typeof name === "string" && /^[A-Za-z0-9._~-](?:[A-Za-z0-9._~\/-]{0,126}[A-Za-z0-9._~-])?$/.test(name);
  }

  function pad(n, w = 2) {
    return String(n).padStart(w, "0");
  }

  /** "14:03:07.123" in local time, from ms, seconds, an ISO string or a Date. */
  function clock(t, withMs = false) {
    const d = toDate(t) || new Date();
    const s = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return withMs ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
  }

  function toDate(t) {
    if (t instanceof Date) return t;
    if (typeof t === "number" && isFinite(t)) {
      // Seconds or milliseconds since the epoch: anything below 1e11 is seconds.
      return new Date(t < 1e11 ? t * 1000 : t);
    }
    if (typeof t === "string" && t !== "") {
      if (/^\d+(\.\d+)?$/.test(t)) return toDate(Number(t));
      const d = new Date(t);
      return isNaN(d.getTime()) ? null : d;
    }
    return null;
  }

  /** The time an event id was made, when its first group looks like epoch ms. */
  function idTime(id) {
    const first = Number(String(id || "").split("-")[0]);
    return first > 1e12 && first < 1e14 ? new Date(first) : null;
  }

  // ---------------------------------------------------------------------------
  // EventSource, with its state reported.

  /**
   * Opens `path` with the browser's EventSource and listens to `types`
   * ("message" is always added). Calls `onEvent({id, type, data})`.
   * `lastEventId` (optional) asks the server for a replay on the first
   * connect; reconnects are the browser's own, with the Last-Event-ID header.
   * If the browser gives up for good (a status other than 200), a new
   * EventSource is opened after a pause, resuming from the last id seen.
   */
  function openEventSource(path, { types = [], onEvent, lastEventId = null, quiet = false }) {
    let es = null;
    let lastId = lastEventId === null ? "" : String(lastEventId);
    let opened = false;
    let giveUps = 0;
    let timer = null;
    let closedByUs = false;
    const allTypes = Array.from(new Set(["message", ...types]));

    function report(state, note) {
      if (!quiet) status.set(state, note);
    }

    function connect() {
      const url = lastId !== "" ? withParam(path, "lastEventId", lastId) : path;
      es = new EventSource(url);
      report(opened ? "reconnecting" : "connecting", opened ? `resuming after ${lastId || "the start"}` : "");
      es.onopen = () => {
        giveUps = 0;
        if (opened) {
          status.reconnects += 1;
          report("live", lastId ? `resumed after id ${lastId}` : "reconnected");
        } else {
          report("live", "");
        }
        opened = true;
      };
      es.onerror = () => {
        if (closedByUs) return;
        if (es.readyState === EventSource.CLOSED) {
          // The browser will not retry (e.g. 503): we do, with a growing pause.
          giveUps += 1;
          const wait = Math.min(30000, 1000 * 2 ** Math.min(giveUps, 5)) * (0.8 + Math.random() * 0.4);
          report("reconnecting", `server refused; retrying in ${Math.round(wait / 1000)} s`);
          timer = setTimeout(connect, wait);
        } else {
          report("reconnecting", "connection lost; retrying");
        }
      };
      const handler = (e) => {
        if (e.lastEventId) lastId = e.lastEventId;
        if (!quiet) status.sawEvent(e.lastEventId);
        onEvent({ id: e.lastEventId, type: e.type, data: e.data });
      };
      for (const t of allTypes) es.addEventListener(t, handler);
    }

    connect();
    return {
      close() {
        closedByUs = true;
        clearTimeout(timer);
        if (es) es.close();
      },
      get lastEventId() {
        return lastId;
      },
    };
  }

  // ---------------------------------------------------------------------------
  // fetch() + our own parser: every event type, reconnects like EventSource.

  /**
   * An incremental text/event-stream parser following the WHATWG HTML spec:
   * lines end at CRLF, LF or a lone CR; a blank line dispatches; `data` lines
   * join with LF; an `id` with NUL is ignored; `retry` must be all digits.
   */
  class EventStreamParser {
    constructor() {
      this.buffer = "";
      this.data = "";
      this.type = "";
      this.lastEventId = "";
      this.retry = null;
      this.sawBOM = false;
    }

    /** Feeds decoded text; calls `emit({id, type, data})` for each event. */
    feed(text, emit) {
      if (!this.sawBOM) {
        if (text.length === 0) return;
        this.sawBOM = true;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      this.buffer += text;
      let start = 0;
      const buf = this.buffer;
      for (let i = 0; i < buf.length; i++) {
        const c = buf.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        if (c === 13 && i + 1 === buf.length) break; // a CR at the end: an LF may follow in the next chunk
        this.line(buf.slice(start, i), emit);
        if (c === 13 && buf.charCodeAt(i + 1) === 10) i += 1;
        start = i + 1;
      }
      this.buffer = buf.slice(start);
    }

    line(line, emit) {
      if (line === "") {
        if (this.data === "") {
          this.type = "";
          return;
        }
        const data = this.data.endsWith("\n") ? this.data.slice(0, -1) : this.data;
        const ev = { id: this.lastEventId, type: this.type || "message", data };
        this.data = "";
        this.type = "";
        emit(ev);
        return;
      }
      if (line.charCodeAt(0) === 58) return; // ":" comment, e.g. a heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      switch (field) {
        case "event":
          this.type = value;
          break;
        case "data":
          this.data += value + "\n";
          break;
        case "id":
          if (!value.includes("\0")) this.lastEventId = value;
          break;
        case "retry":
          if (/^\d+$/.test(value)) this.retry = Number(value);
          break;
        default:
          break; // unknown fields are ignored
      }
    }
  }

  const sleep = (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });

  /**
   * Streams `path` with fetch(), calling `onEvent({id, type, data})` for
   * every event of every type. Reconnects after the server's `retry:` (with
   * a growing pause while it stays away), sending Last-Event-ID so the
   * server replays what was missed. `lastEventId` (optional) asks for a
   * replay on the first connect. Returns `{close()}`.
   */
  function openStream(path, { onEvent, lastEventId = null, quiet = false, onState = null }) {
    const abort = new AbortController();
    const signal = abort.signal;
    let lastId = "";
    let retry = 3000;
    let failures = 0;
    let opened = false;

    function report(state, note) {
      if (onState) onState(state, note);
      if (!quiet) status.set(state, note);
    }

    async function run() {
      while (!signal.aborted) {
        const headers = { Accept: "text/event-stream" };
        let url = path;
        if (lastId !== "") headers["Last-Event-ID"] = lastId;
        else if (lastEventId !== null) url = withParam(path, "lastEventId", String(lastEventId));
        report(opened ? "reconnecting" : "connecting", opened ? `resuming after ${lastId || "the start"}` : "");
        let pause = retry;
        let ended = "";
        try {
          const res = await fetch(url, { headers, signal, cache: "no-store" });
          if (res.status !== 200) {
            const text = (await res.text().catch(() => "")).trim().slice(0, 200);
            if (res.status === 503 || res.status === 429 || res.status >= 500) {
              const after = Number(res.headers.get("Retry-After"));
              pause = after > 0 ? after * 1000 : Math.max(retry, 2000);
              throw new Error(`HTTP ${res.status}`);
            }
            report("error", `HTTP ${res.status}${text ? ": " + text : ""}`);
            return; // a 4xx will not get better by asking again
          }
          const type = res.headers.get("Content-Type") || "";
          if (!/^text\/event-stream/i.test(type)) {
            report("error", `not an event stream (Content-Type: ${type || "none"})`);
            return; // EventSource gives up here too
          }
          const parser = new EventStreamParser();
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          if (opened) status.reconnects += 1;
          report("live", opened && lastId ? `resumed after id ${lastId}` : "");
          opened = true;
          failures = 0;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value, (ev) => {
              if (ev.id) lastId = ev.id;
              if (!quiet) status.sawEvent(ev.id);
              onEvent(ev);
            });
            if (parser.lastEventId) lastId = parser.lastEventId;
            if (parser.retry !== null) retry = parser.retry;
          }
          if (signal.aborted) return;
          ended = "the server closed the stream";
        } catch (err) {
          if (signal.aborted) return;
          failures += 1;
          ended = opened ? "connection lost" : "cannot reach the server";
          if (err && /^HTTP /.test(err.message)) ended = `server busy (${err.message})`;
        }
        // Like EventSource, wait `retry` ms; back off further while the server stays away.
        const wait = Math.min(30000, pause * 2 ** Math.min(Math.max(failures - 1, 0), 3)) * (0.8 + Math.random() * 0.4);
        report("reconnecting", `${ended}; retry in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait, signal);
      }
    }

    run();
    return {
      close() {
        abort.abort();
      },
      get lastEventId() {
        return lastId;
      },
    };
  }

  window.App = {
    status,
    frameBatcher,
    param,
    withParam,
    validChannel,
    clock,
    toDate,
    idTime,
    openEventSource,
    openStream,
    EventStreamParser,
  };
})();
