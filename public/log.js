// The log viewer: every event of one channel as a line, live.
//
// - Lines are added once per animation frame, in one fragment.
// - It follows the end while the reader is at the end; scrolling up stops
//   that, and a button says how many lines came since and jumps back.
// - Pause keeps receiving but holds lines back until resumed.
// - A text filter hides lines that do not match (type or data).
// - At most `max` lines are kept (`?max=N`, or the select); the oldest go.
// Every event type is shown: it reads the stream with fetch() (App.openStream),
// because EventSource only delivers the types a page has named.
"use strict";

(function () {
  const channel = App.param("channel");
  const logEl = document.getElementById("log");
  const placeholder = document.getElementById("placeholder");
  const filterEl = document.getElementById("filter");
  const pauseEl = document.getElementById("pause");
  const maxEl = document.getElementById("max");
  const jumpEl = document.getElementById("jump");
  const counts = {
    lines: document.getElementById("count-lines"),
    shown: document.getElementById("count-shown"),
    held: document.getElementById("count-held"),
  };

  let max = Number(App.param("max", maxEl.value)) || 1000;
  if (![...maxEl.options].some((o) => Number(o.value) === max)) {
    maxEl.add(new Option(`${max.toLocaleString()} lines`, String(max)));
  }
  maxEl.value = String(max);

  let incoming = []; // events received since the last frame
  let held = []; // events received while paused
  let paused = false;
  let follow = true; // keep the end in view
  let unseen = 0; // lines added while the reader was scrolled up
  let filter = (App.param("filter", "") || "").toLowerCase();
  let shown = 0;
  filterEl.value = filter;

  // --- the channel chooser ---------------------------------------------------------

  const input = document.getElementById("channel");
  input.value = channel || "";
  fetch("/channels", { cache: "no-store" })
    .then((r) => (r.ok ? r.json() : []))
    .then((list) => {
      const dl = document.getElementById("channel-list");
      for (const c of Array.isArray(list) ? list : []) if (c && c.name) dl.appendChild(new Option(c.name));
      if (!channel) showChooser(list);
    })
    .catch(() => {});

  function showChooser(list) {
    placeholder.textContent = "";
    const names = (Array.isArray(list) ? list : []).map((c) => c && c.name).filter(Boolean);
    placeholder.append(names.length ? "Pick a channel: " : "No channels yet. Type a channel name above and press Open.");
    names.forEach((name, i) => {
      const a = document.createElement("a");
      a.href = `/log.html?channel=${encodeURIComponent(name)}`;
      a.textContent = name;
      if (i) placeholder.append(", ");
      placeholder.append(a);
    });
  }

  // --- lines -----------------------------------------------------------------------

  function matches(el) {
    return filter === "" || el.dataset.text.includes(filter);
  }

  function makeLine(ev) {
    const div = document.createElement("div");
    div.className = ev.type === "sse-gap" ? "line gap" : "line";
    if (ev.id) div.dataset.id = ev.id;
    div.dataset.type = ev.type;
    div.dataset.text = `${ev.type} ${ev.data}`.toLowerCase();
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = App.clock(App.idTime(ev.id) || ev.received, true);
    t.title = ev.id ? `id ${ev.id}` : "no id";
    div.appendChild(t);
    if (ev.type !== "message") {
      const ty = document.createElement("span");
      ty.className = "ty";
      ty.textContent = ev.type;
      div.appendChild(ty);
    }
    const d = document.createElement("span");
    d.className = "d";
    d.textContent = ev.type === "sse-gap" ? gapText(ev.data) : ev.data;
    div.appendChild(d);
    div.hidden = !matches(div);
    return div;
  }

  /** The server's notice that events were lost (the buffer no longer held them), in words. */
  function gapText(data) {
    try {
      const gap = JSON.parse(data);
      const lost = (gap.channels || []).map((c) => `${c.channel}: lost through id ${c.lostThrough}, resuming at ${c.resumesAt}`);
      return `⚠ ${gap.message || "some events were lost"}` + (lost.length ? ` (${lost.join("; ")})` : "");
    } catch {
      return `⚠ ${data}`;
    }
  }

  const atEnd = () => logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 4;

  const schedule = App.frameBatcher(flush);

  function flush() {
    if (incoming.length === 0 && !trimNeeded()) return renderCounts();
    const batch = incoming.length > max ? incoming.slice(-max) : incoming;
    incoming = [];
    if (batch.length && placeholder.isConnected) placeholder.remove();
    const frag = document.createDocumentFragment();
    let added = 0;
    for (const ev of batch) {
      const el = makeLine(ev);
      if (!el.hidden) added += 1;
      frag.appendChild(el);
    }
    logEl.appendChild(frag);
    shown += added;
    trim();
    if (follow) {
      logEl.scrollTop = logEl.scrollHeight;
    } else if (added) {
      unseen += added;
    }
    renderCounts();
  }

  function lineCount() {
    return logEl.childElementCount - (placeholder.isConnected ? 1 : 0);
  }

  function trimNeeded() {
    return lineCount() > max;
  }

  function trim() {
    let extra = lineCount() - max;
    while (extra-- > 0) {
      const first = logEl.querySelector(".line");
      if (!first.hidden) shown -= 1;
      first.remove();
    }
  }

  function renderCounts() {
    counts.lines.textContent = String(lineCount());
    counts.shown.textContent = String(shown);
    counts.held.textContent = String(held.length);
    jumpEl.hidden = follow || unseen === 0;
    document.getElementById("jump-count").textContent = String(unseen);
  }

  function onEvent(ev) {
    ev.received = new Date();
    if (paused) {
      held.push(ev);
      if (held.length > max) held.splice(0, held.length - max);
      schedule();
      return;
    }
    incoming.push(ev);
    schedule();
  }

  // --- controls --------------------------------------------------------------------

  logEl.addEventListener("scroll", () => {
    const was = follow;
    follow = atEnd();
    if (follow) unseen = 0;
    if (was !== follow) renderCounts();
  }, { passive: true });

  jumpEl.addEventListener("click", () => {
    follow = true;
    unseen = 0;
    logEl.scrollTop = logEl.scrollHeight;
    renderCounts();
    logEl.focus();
  });

  pauseEl.addEventListener("click", () => {
    paused = !paused;
    pauseEl.setAttribute("aria-pressed", String(paused));
    pauseEl.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      incoming.push(...held);
      held = [];
    }
    schedule();
  });

  document.getElementById("clear").addEventListener("click", () => {
    for (const el of [...logEl.querySelectorAll(".line")]) el.remove();
    shown = 0;
    unseen = 0;
    renderCounts();
  });

  maxEl.addEventListener("change", () => {
    max = Number(maxEl.value);
    trim();
    renderCounts();
  });

  let filterTimer = null;
  filterEl.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      filter = filterEl.value.trim().toLowerCase();
      shown = 0;
      for (const el of logEl.querySelectorAll(".line")) {
        el.hidden = !matches(el);
        if (!el.hidden) shown += 1;
      }
      if (follow) logEl.scrollTop = logEl.scrollHeight;
      renderCounts();
    }, 120);
  });

  // Keyboard: "/" focuses the filter, "p" pauses (outside text fields).
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      e.preventDefault();
      filterEl.focus();
    } else if (e.key === "p") {
      pauseEl.click();
    }
  });

  // --- the stream ------------------------------------------------------------------

  if (!channel) {
    App.status.set("idle", "no channel chosen");
    placeholder.textContent = "Loading channels…";
    input.focus();
    return;
  }
  document.title = `${channel} · Log · sse-serve`;
  if (!App.validChannel(channel)) {
    App.status.set("error", "not a valid channel name");
    placeholder.textContent = `“${channel}” is not a channel name: 1–128 of A–Z a–z 0–9 . _ - ~ and / inside.`;
    return;
  }
  // By default the viewer starts with everything the channel still buffers;
  // ?from=live starts at the next event, ?from=ID after that id.
  const from = App.param("from", "0");
  App.openStream(`/events/${channel}`, { onEvent, lastEventId: from === "live" ? null : from });
})();
