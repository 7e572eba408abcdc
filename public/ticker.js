// The ticker board: one row per symbol with price, change, change %, a flash
// on every move and a sparkline of recent prices.
//
// Events arrive at the feed's pace; the DOM is touched at most once per
// animation frame, and only for the symbols that moved since the last frame.
"use strict";

(function () {
  const SPARK_POINTS = 120;
  const channel = App.param("channel", "ticker");
  const rowsEl = document.getElementById("rows");
  const symbols = new Map(); // symbol -> state (see `stateFor`)
  const dirty = new Set(); // symbols to redraw in the next frame
  const recent = []; // times (ms since the epoch) of the ticks of the last 5 s, for the rate
  let totalTicks = 0;
  let lastTickTime = null;
  let colors = readColors();

  document.getElementById("channel-name").textContent = channel;
  document.getElementById("spark-len").textContent = String(SPARK_POINTS);
  if (channel !== "ticker") document.title = `${channel} · Ticker · sse-serve`;

  function readColors() {
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    return { up: v("--up"), down: v("--down"), upBg: v("--up-bg"), downBg: v("--down-bg"), muted: v("--muted"), border: v("--border") };
  }

  // --- reading ticks, tolerant of field names --------------------------------

  function pick(o, names) {
    for (const n of names) if (o[n] !== undefined && o[n] !== null && o[n] !== "") return o[n];
    return undefined;
  }

  function num(v) {
    if (v === undefined) return undefined;
    const n = typeof v === "number" ? v : Number(String(v).replace(/[%,+\s]/g, ""));
    return isFinite(n) ? n : undefined;
  }

  /** {symbol, price, change?, changePercent?, time?} or null when it is not a tick. */
  function normalize(o) {
    if (!o || typeof o !== "object") return null;
    const symbol = pick(o, ["symbol", "sym", "ticker", "s", "name", "code", "instrument"]);
    const price = num(pick(o, ["price", "last", "p", "value", "close", "px", "lastPrice"]));
    if (symbol === undefined || price === undefined) return null;
    let change = num(pick(o, ["change", "delta", "chg", "diff", "netChange"]));
    let changePercent = num(pick(o, ["changePercent", "change_percent", "changePct", "change_pct", "pctChange", "percentChange", "percent", "pct"]));
    const open = num(pick(o, ["open", "prevClose", "previousClose", "reference", "base"]));
    if (change === undefined && open !== undefined) change = price - open;
    if (changePercent === undefined && change !== undefined && price - change !== 0) changePercent = (change / (price - change)) * 100;
    const time = pick(o, ["time", "ts", "timestamp", "t", "at", "date"]);
    const label = pick(o, ["name", "company", "description", "title"]);
    return { symbol: String(symbol), label: label !== undefined && String(label) !== String(symbol) ? String(label) : "", price, change, changePercent, time };
  }

  function onEvent(ev) {
    let parsed;
    try {
      parsed = JSON.parse(ev.data);
    } catch {
      return; // not JSON: not a tick
    }
    const list = Array.isArray(parsed) ? parsed : Array.isArray(parsed && parsed.ticks) ? parsed.ticks : [parsed];
    for (const item of list) {
      const tick = normalize(item);
      if (tick) accept(tick, ev.id);
    }
  }

  function stateFor(symbol) {
    let s = symbols.get(symbol);
    if (!s) {
      s = { symbol, label: "", price: NaN, prev: NaN, first: NaN, change: undefined, changePercent: undefined, time: null, history: [], dir: 0, flashes: 0, ticks: 0, row: null };
      symbols.set(symbol, s);
    }
    return s;
  }

  function accept(tick, id) {
    const s = stateFor(tick.symbol);
    if (isNaN(s.first)) s.first = tick.price;
    if (tick.label) s.label = tick.label;
    // Direction against the last price shown; several ticks in one frame count as one move.
    if (!isNaN(s.price) && tick.price !== s.price) s.dir = tick.price > s.price ? 1 : -1;
    s.prev = s.price;
    s.price = tick.price;
    // Without change fields in the feed, the first price seen is the reference.
    s.change = tick.change !== undefined ? tick.change : tick.price - s.first;
    s.changePercent = tick.changePercent !== undefined ? tick.changePercent : s.first ? (s.change / s.first) * 100 : 0;
    s.time = App.toDate(tick.time) || App.idTime(id) || new Date();
    s.history.push(tick.price);
    if (s.history.length > SPARK_POINTS) s.history.splice(0, s.history.length - SPARK_POINTS);
    s.ticks += 1;
    totalTicks += 1;
    lastTickTime = s.time;
    // By the tick's own time, so that a replayed burst of old ticks does not look like a fast feed.
    recent.push(s.time.getTime());
    if (recent.length > 10000) recent.splice(0, recent.length - 10000);
    dirty.add(tick.symbol);
    scheduleFrame();
  }

  // --- drawing, once per frame ----------------------------------------------------

  const scheduleFrame = App.frameBatcher(flush);

  const fmtPrice = (p) => p.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: p < 1 ? 4 : 2 });
  const signed = (n, digits) => (n > 0 ? "+" : n < 0 ? "−" : "") + Math.abs(n).toFixed(digits);

  function makeRow(s) {
    const tr = document.createElement("tr");
    tr.dataset.symbol = s.symbol;
    const cells = {};
    for (const [key, cls] of [["sym", "sym"], ["price", "price"], ["change", "chg hide-phone"], ["pct", "pct"], ["spark", "spark-cell"], ["time", "time hide-narrow"]]) {
      const td = document.createElement("td");
      td.className = cls;
      tr.appendChild(td);
      cells[key] = td;
    }
    cells.sym.textContent = s.symbol;
    if (s.label) {
      const small = document.createElement("span");
      small.className = "label hide-narrow";
      small.textContent = s.label;
      cells.sym.appendChild(small);
      tr.title = s.label;
    }
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${s.symbol} recent prices`);
    cells.spark.appendChild(canvas);
    s.row = { tr, cells, canvas };
    // Keep the rows sorted by symbol.
    const empty = rowsEl.querySelector("tr.empty");
    if (empty) empty.remove();
    let before = null;
    for (const other of rowsEl.children) {
      if (other.dataset.symbol > s.symbol) {
        before = other;
        break;
      }
    }
    rowsEl.insertBefore(tr, before);
  }

  function flush() {
    for (const symbol of dirty) {
      const s = symbols.get(symbol);
      if (!s.row) makeRow(s);
      const { tr, cells } = s.row;
      cells.price.textContent = fmtPrice(s.price);
      cells.change.textContent = signed(s.change, 2);
      cells.pct.textContent = signed(s.changePercent, 2) + "%";
      const trend = s.change > 0 ? "up" : s.change < 0 ? "down" : "";
      cells.change.className = "chg hide-phone " + trend;
      cells.pct.className = "pct " + trend;
      cells.time.textContent = App.clock(s.time);
      tr.dataset.ticks = String(s.ticks);
      if (s.dir !== 0) {
        // Alternate between two identical animations so that each move restarts it.
        s.flashes += 1;
        tr.className = `flash-${s.dir > 0 ? "up" : "down"}-${s.flashes % 2 ? "a" : "b"}`;
        s.dir = 0;
      }
      drawSpark(s);
    }
    dirty.clear();
    if (performance.now() - statsShown > 500) renderStats();
  }

  function drawSpark(s) {
    const canvas = s.row.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const pts = s.history;
    if (pts.length < 2) return;
    const reference = s.price - s.change; // the price the change is measured from
    let min = Infinity;
    let max = -Infinity;
    for (const p of pts) {
      if (p < min) min = p;
      if (p > max) max = p;
    }
    const showRef = isFinite(reference) && reference >= min - (max - min) * 0.5 && reference <= max + (max - min) * 0.5;
    if (showRef) {
      min = Math.min(min, reference);
      max = Math.max(max, reference);
    }
    const span = max - min || Math.abs(max) * 0.001 || 1;
    const pad = 3 * dpr;
    // Newest point at the right edge; the line grows leftwards until the history is full.
    const step = (w - 2 * pad) / (SPARK_POINTS - 1);
    const x = (i) => pad + (SPARK_POINTS - pts.length + i) * step;
    const y = (p) => h - pad - ((p - min) / span) * (h - 2 * pad);
    const up = pts[pts.length - 1] >= (showRef ? reference : pts[0]);
    if (showRef) {
      ctx.strokeStyle = colors.muted;
      ctx.globalAlpha = 0.5;
      ctx.lineWidth = dpr;
      ctx.setLineDash([3 * dpr, 3 * dpr]);
      ctx.beginPath();
      ctx.moveTo(x(0), y(reference));
      ctx.lineTo(x(pts.length - 1), y(reference));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
    }
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(x(i), y(p)) : ctx.moveTo(x(i), y(p))));
    ctx.lineTo(x(pts.length - 1), h);
    ctx.lineTo(x(0), h);
    ctx.closePath();
    ctx.fillStyle = up ? colors.upBg : colors.downBg;
    ctx.fill();
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(x(i), y(p)) : ctx.moveTo(x(i), y(p))));
    ctx.strokeStyle = up ? colors.up : colors.down;
    ctx.lineWidth = 1.5 * dpr;
    ctx.lineJoin = "round";
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(x(pts.length - 1), y(pts[pts.length - 1]), 2.2 * dpr, 0, 2 * Math.PI);
    ctx.fillStyle = up ? colors.up : colors.down;
    ctx.fill();
  }

  function redrawAll() {
    for (const s of symbols.values()) dirty.add(s.symbol);
    scheduleFrame();
  }

  // Canvas sizes follow the layout; colours follow the system's light/dark switch.
  new ResizeObserver(redrawAll).observe(rowsEl);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    colors = readColors();
    redrawAll();
  });

  // --- statistics, once a second -------------------------------------------------

  let statsShown = 0;
  function renderStats() {
    const now = performance.now();
    statsShown = now;
    const since = Date.now() - 5000;
    const fresh = recent.filter((t) => t > since);
    recent.length = 0;
    recent.push(...fresh);
    document.getElementById("stat-symbols").textContent = String(symbols.size);
    document.getElementById("stat-ticks").textContent = String(totalTicks);
    document.getElementById("stat-rate").textContent = (fresh.length / 5).toFixed(1);
    document.getElementById("stat-last").textContent = lastTickTime ? App.clock(lastTickTime) : "—";
  }
  setInterval(renderStats, 1000);

  if (!App.validChannel(channel)) {
    App.status.set("error", `not a channel name: ${channel}`);
    return;
  }
  // lastEventId=0 asks for everything buffered, so the sparklines start full.
  App.openEventSource(`/events/${encodeURIComponent(channel).replace(/%2F/g, "/")}`, { types: ["tick"], lastEventId: "0", onEvent });
})();
