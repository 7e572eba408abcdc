// The explorer's presence panel: who is on the selected channel, live.
//
// GET /presence/{channel} gives the figures as they were just after the
// presence event its `lastEventId` names; subscribing to presence/{channel}
// from that id then delivers every `join` and `leave` since, none missed and
// none twice. `connections` (anonymous ones included) and a user's own count
// change without an event, so the snapshot is read again every few seconds
// and taken whole when no event came in between (its lastEventId is the one
// last applied); otherwise the next reading will be.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const panel = document.getElementById("presence");
  const listEl = document.getElementById("presence-list");
  const noteEl = document.getElementById("presence-note");
  const channelEl = document.getElementById("presence-channel");
  const usersEl = document.getElementById("presence-users");
  const connectionsEl = document.getElementById("presence-connections");

  let channel = null;
  let generation = 0; // bumped on every change of channel or resync: late answers for an older one are dropped
  let stream = null;
  let timer = null;
  let users = new Map(); // user -> {info, connections}; connections null when only a join told us of them
  let connections = 0;
  let appliedId = null; // the last presence event applied (or the snapshot's id)

  function setNote(text) {
    noteEl.textContent = text;
    noteEl.hidden = text === "";
  }

  function displayName(user, info) {
    return info && typeof info === "object" && typeof info.name === "string" && info.name !== "" ? info.name : user;
  }

  const render = App.frameBatcher(() => {
    const sorted = [...users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const frag = document.createDocumentFragment();
    for (const [user, { info, connections: n }] of sorted) {
      const li = document.createElement("li");
      li.dataset.user = user;
      const away = n === 0;
      li.className = away ? "away" : "";
      if (away) li.title = "no connection now; leaves unless back within the leave grace";
      const name = displayName(user, info);
      const avatar = document.createElement("span");
      avatar.className = "avatar";
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = ([...name][0] || "?").toUpperCase();
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = name;
      li.append(avatar, who);
      if (name !== user) {
        const id = document.createElement("code");
        id.className = "uid";
        id.textContent = user;
        li.append(id);
      }
      const count = document.createElement("span");
      count.className = "n muted small";
      count.textContent = away ? "away" : n === null ? "" : `${n} conn`;
      li.append(count);
      frag.appendChild(li);
    }
    listEl.replaceChildren(frag);
    usersEl.textContent = String(users.size);
    connectionsEl.textContent = String(connections);
    panel.dataset.users = String(users.size);
    panel.dataset.connections = String(connections);
    panel.dataset.lastEventId = appliedId || "";
    if (channel && panel.dataset.state === "live") setNote(users.size === 0 ? "Nobody identified is here." : "");
  });

  function setState(state, note) {
    panel.dataset.state = state;
    setNote(note);
    render();
  }

  function take(snapshot) {
    users = new Map();
    for (const u of Array.isArray(snapshot.users) ? snapshot.users : []) {
      if (u && typeof u.user === "string") users.set(u.user, { info: u.info, connections: Number(u.connections) || 0 });
    }
    connections = Number(snapshot.connections) || 0;
    appliedId = String(snapshot.lastEventId ?? "0");
    render();
  }

  async function readSnapshot(name) {
    const res = await fetch(`/presence/${name}`, { cache: "no-store" });
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).trim().slice(0, 200);
      const error = new Error(`HTTP ${res.status}${text ? ": " + text : ""}`);
      // A refusal (401, 403) or a bad name will not get better by asking again.
      error.final = res.status >= 400 && res.status < 500 && res.status !== 429;
      throw error;
    }
    const snapshot = await res.json();
    if (!snapshot || typeof snapshot !== "object") throw new Error("not a presence snapshot");
    return snapshot;
  }

  function apply(ev) {
    if (ev.type !== "join" && ev.type !== "leave") return;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!data || typeof data.user !== "string") return;
    if (ev.type === "join") {
      const had = users.get(data.user);
      // A join is a user's first connection: one more connection than a moment ago.
      users.set(data.user, { info: data.info, connections: had && had.connections ? had.connections : 1 });
      connections += 1;
    } else {
      users.delete(data.user);
    }
    if (ev.id) appliedId = ev.id;
    render();
  }

  async function start(name, gen) {
    setState("loading", `Reading who is on ${name}…`);
    let snapshot;
    try {
      snapshot = await readSnapshot(name);
    } catch (err) {
      if (gen !== generation) return;
      setState("error", `GET /presence/${name}: ${err.message || err}`);
      if (!err.final) timer = setTimeout(() => gen === generation && start(name, gen), REFRESH_MS * 2);
      return;
    }
    if (gen !== generation) return;
    take(snapshot);
    let dropped = false;
    stream = App.openStream(`/events/presence/${name}`, {
      lastEventId: appliedId,
      quiet: true,
      onEvent: (ev) => gen === generation && apply(ev),
      onState(state, note) {
        if (gen !== generation) return;
        if (state === "reconnecting") {
          dropped = true;
          setState("reconnecting", note);
        } else if (state === "live" && dropped) {
          // The server may have restarted and forgotten everyone: start again from a snapshot.
          resync(name);
        } else if (state === "live") {
          setState("live", "");
        } else if (state === "error") {
          setState("error", `presence/${name}: ${note}`);
        }
      },
    });
    timer = setTimeout(function again() {
      if (gen !== generation) return;
      readSnapshot(name)
        .then((s) => {
          if (gen === generation && String(s.lastEventId ?? "0") === appliedId) take(s);
        })
        .catch(() => {})
        .finally(() => {
          if (gen === generation) timer = setTimeout(again, document.hidden ? REFRESH_MS * 5 : REFRESH_MS);
        });
    }, REFRESH_MS);
  }

  function stop() {
    generation += 1;
    if (stream) stream.close();
    stream = null;
    clearTimeout(timer);
    timer = null;
  }

  function resync(name) {
    stop();
    start(name, generation);
  }

  /** Shows the presence of `name` (null: none). */
  function show(name) {
    if (name === channel) return;
    stop();
    channel = name;
    users = new Map();
    connections = 0;
    appliedId = null;
    channelEl.textContent = name ? `on ${name}` : "";
    if (!name || !App.validChannel(name)) {
      setState("idle", name ? "" : "Pick a channel to see who is here.");
      return;
    }
    if (name.startsWith("presence/")) {
      setState("idle", "A presence channel has no presence of its own.");
      return;
    }
    start(name, generation);
  }

  window.PresencePanel = { show };
})();
