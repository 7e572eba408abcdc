// The channel explorer: GET /channels every few seconds, and the raw events
// (id, type, data) of the channel picked, every type included. Who is on the
// channel picked is presence.js's.
//
// The raw viewer reads the stream with fetch() and parses it itself
// (App.openStream): EventSource would only deliver the types named in advance.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const RAW_MAX = 300;
  const rowsEl = document.getElementById("channel-rows");
  const rawEl = document.getElementById("raw");
  const rawPlaceholder = document.getElementById("raw-placeholder");
  const rawChannelEl = document.getElementById("raw-channel");
  const logLink = document.getElementById("raw-log-link");
  const rows = new Map(); // name -> {tr, cells, last}
  let selected = null;
  let stream = null;
  let lastRefresh = null;
  let pollFailures = 0;

  // --- the list --------------------------------------------------------------------

  function makeRow(name) {
    const tr = document.createElement("tr");
    tr.dataset.channel = name;
    tr.setAttribute("aria-selected", "false");
    const cells = {};
    for (const [key, cls] of [["name", "name"], ["subs", "subs"], ["buffered", "buffered hide-narrow"], ["lastId", "id"]]) {
      const td = document.createElement("td");
      td.className = cls;
      tr.appendChild(td);
      cells[key] = td;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "name";
    button.textContent = name;
    button.title = `Watch the raw events of ${name}`;
    button.addEventListener("click", () => {
      location.hash = encodeURIComponent(name);
    });
    cells.name.appendChild(button);
    return { tr, cells, last: {} };
  }

  function setCell(row, key, value) {
    const text = value === null || value === undefined || value === "" ? "—" : String(value);
    if (row.last[key] === text) return;
    const changed = row.last[key] !== undefined;
    row.last[key] = text;
    const td = row.cells[key];
    td.textContent = text;
    if (changed) {
      td.classList.remove("changed");
      void td.offsetWidth; // restart the highlight: a few cells every two seconds, cheap
      td.classList.add("changed");
    }
  }

  function render(list) {
    const seen = new Set();
    const sorted = list.filter((c) => c && typeof c.name === "string").sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let prev = null;
    for (const c of sorted) {
      seen.add(c.name);
      let row = rows.get(c.name);
      if (!row) {
        row = makeRow(c.name);
        rows.set(c.name, row);
      }
      // Keep DOM order equal to the sorted order (moves only what is out of place).
      const want = prev ? prev.nextSibling : rowsEl.firstChild;
      if (want !== row.tr) rowsEl.insertBefore(row.tr, want);
      prev = row.tr;
      setCell(row, "subs", c.subscribers);
      setCell(row, "buffered", c.buffered);
      setCell(row, "lastId", c.lastId);
      row.tr.setAttribute("aria-selected", String(c.name === selected));
    }
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    document.getElementById("channel-count").textContent = String(rows.size);
    document.getElementById("channels-empty").hidden = rows.size > 0;
  }

  async function refresh() {
    try {
      const res = await fetch("/channels", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const list = await res.json();
      if (!Array.isArray(list)) throw new Error("not a JSON array");
      render(list);
      lastRefresh = new Date();
      pollFailures = 0;
      if (!selected) App.status.set("live", `${list.length} channel${list.length === 1 ? "" : "s"}`);
    } catch (err) {
      pollFailures += 1;
      if (!selected) App.status.set("reconnecting", `GET /channels: ${err.message || err}`);
    }
    renderRefreshed();
  }

  function renderRefreshed() {
    const el = document.getElementById("refreshed");
    if (!lastRefresh) el.textContent = pollFailures ? "cannot reach the server; retrying" : "loading…";
    else el.textContent = `refreshed ${App.clock(lastRefresh)}` + (pollFailures ? ` · retrying (${pollFailures} failed)` : ` · every ${REFRESH_MS / 1000} s`);
  }

  // Poll on a timer, but never two requests at once.
  (async function poll() {
    await refresh();
    setTimeout(poll, document.hidden ? REFRESH_MS * 5 : REFRESH_MS);
  })();

  // --- the raw viewer ----------------------------------------------------------------

  const pending = [];
  const flushRaw = App.frameBatcher(() => {
    if (pending.length === 0) return;
    const follow = rawEl.scrollHeight - rawEl.scrollTop - rawEl.clientHeight < 4;
    if (rawPlaceholder.isConnected) rawPlaceholder.remove();
    const frag = document.createDocumentFragment();
    for (const ev of pending.splice(0, pending.length).slice(-RAW_MAX)) frag.appendChild(makeEvent(ev));
    rawEl.appendChild(frag);
    let extra = rawEl.childElementCount - RAW_MAX;
    while (extra-- > 0) rawEl.firstElementChild.remove();
    if (follow) rawEl.scrollTop = rawEl.scrollHeight;
  });

  function makeEvent(ev) {
    const div = document.createElement("div");
    div.className = "ev";
    div.dataset.id = ev.id;
    div.dataset.type = ev.type;
    const meta = document.createElement("div");
    meta.className = "meta";
    const id = document.createElement("span");
    id.className = "id";
    id.textContent = `id ${ev.id || "—"}`;
    const ty = document.createElement("span");
    ty.className = "ty";
    ty.textContent = ev.type;
    const t = document.createElement("span");
    t.textContent = App.clock(App.idTime(ev.id) || new Date(), true);
    meta.append(ty, id, t);
    const pre = document.createElement("pre");
    pre.className = "data";
    pre.textContent = ev.data;
    div.append(meta, pre);
    return div;
  }

  function select(name) {
    if (name === selected) return;
    if (stream) stream.close();
    stream = null;
    selected = name;
    pending.length = 0;
    rawEl.replaceChildren(rawPlaceholder);
    for (const [n, row] of rows) row.tr.setAttribute("aria-selected", String(n === name));
    App.status.lastEventId = "";
    PresencePanel.show(name);
    if (!name) {
      rawChannelEl.textContent = "— pick a channel";
      logLink.hidden = true;
      App.status.set(pollFailures ? "reconnecting" : "live", "");
      return;
    }
    rawChannelEl.textContent = `of ${name}`;
    logLink.href = `/log.html?channel=${encodeURIComponent(name)}`;
    logLink.hidden = false;
    if (!App.validChannel(name)) {
      App.status.set("error", `not a channel name: ${name}`);
      return;
    }
    rawPlaceholder.textContent = `Waiting for events on ${name}…`;
    stream = App.openStream(`/events/${name}`, {
      lastEventId: "0",
      onEvent(ev) {
        pending.push(ev);
        if (pending.length > RAW_MAX * 4) pending.splice(0, pending.length - RAW_MAX);
        flushRaw();
      },
    });
  }

  function fromHash() {
    let name = null;
    try {
      name = decodeURIComponent(location.hash.slice(1)) || null;
    } catch {
      name = null;
    }
    select(name);
  }

  document.getElementById("raw-clear").addEventListener("click", () => {
    pending.length = 0;
    rawEl.replaceChildren();
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
