// chainrule playground: the page only draws what the server computed.
// The page's state is one object, `state.config` (the server's canonical copy); every
// change sends the whole of it to /api/config and redraws from the answer.
"use strict";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#e8762b", "#1f77b4", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const POS = [31, 119, 180], NEG = [232, 118, 43], WHITE = [255, 255, 255];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const L2S = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1];
const L1S = L2S;
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const TOY = {circles: "circles", xor: "XOR", blobs: "Gaussian blobs (3 classes)",
             spiral: "two spirals", moons: "moons", reg1d: "regression, 1-D",
             reg2d: "regression, 2-D", plane: "regression plane",
             gaussians: "two Gaussians (regression)"};
const TOY_REGRESSION = ["reg1d", "reg2d", "plane", "gaussians"];
const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "linear"];
const MAX_LAYERS = 6, MAX_NEURONS = 16;
const LOSS_SHORT = {cross_entropy: "CE", bce: "BCE", mse: "MSE"};

const state = {id: null, config: null, view: null, playing: false, busy: false,
               trace: null, stage: -1};
window.playground = state; // read by the browser tests

// ------------------------------------------------------------------ server calls
async function api(path, body) {
  const r = await serverFetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify({id: state.id, ...body})});
  let data;
  try { data = await r.json(); } catch (e) {
    throw new Error(`the server answered ${r.status} without a message`);
  }
  if (!r.ok) throw new Error(data.error || `the server answered ${r.status}`);
  return data;
}

function showMessage(text, kind) {
  const m = $("message");
  m.textContent = text || "";
  m.className = "message" + (kind ? " " + kind : "");
  m.hidden = !text;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function guarded(fn) { // one request at a time; a failure becomes a message
  while (state.busy) await sleep(5);
  state.busy = true;
  try { await fn(); } catch (e) { showMessage(e.message); stopPlay(); renderControls(); }
  finally { state.busy = false; }
}

// ------------------------------------------------------------------ configuration
function setConfig(change) {
  const next = structuredClone(state.config);
  change(next);
  stopPlay();
  return guarded(async () => {
    const view = await api("/api/config", {config: next});
    showMessage("");
    applyFull(view);
  });
}

function taskOf(name) {
  const t = state.view.tables[name];
  if (t) return t.task;
  return TOY_REGRESSION.includes(name) ? "regression" : "classification";
}

function chooseData(name) {
  setConfig((c) => {
    const before = taskOf(c.data.name), after = taskOf(name);
    const multi = name === "blobs" || state.view.tables[name]?.n_classes > 2;  // softmax + CE
    c.data.name = name;
    c.data.inputs = inputsAfterDataChange(c.data.inputs);
    if (state.view.tables[name]) {
      const numeric = state.view.tables[name].numeric;
      c.data.features = numeric.length >= 2 ? numeric.slice(0, 2) : "pca";
    }
    if (after === "regression") { c.network.output = "linear"; c.network.loss = "mse"; }
    else if (before === "regression" || multi) {
      c.network.output = multi ? "softmax" : "sigmoid";
      c.network.loss = multi ? "cross_entropy" : "bce";
    }
  });
}

function applyFull(view) {
  state.view = view;
  state.config = view.config;
  // the whole state in the address, so that a link (or a reload) restores it
  history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(view.config)));
  state.trace = null; state.stage = -1;
  renderControls();
  renderStage();
  applyTick(view.tick);
}

function applyTick(tick) {
  state.view.tick = tick;
  const last = tick.last;
  $("epoch-count").textContent = tick.epoch;
  $("step-count").textContent = tick.step;
  $("train-loss").textContent = fmt(last.train_loss);
  $("test-loss").textContent = fmt(last.test_loss);
  const cls = state.view.data.task === "classification";
  $("metric-label").textContent = cls ? "test accuracy" : "test R²";
  $("test-metric").textContent = fmt(cls ? last.test_accuracy : last.test_r2);
  drawSurface(); drawNetwork(); drawLossChart(); drawGrads();
  renderEdge();
  if (tick.message) { showMessage(tick.message); stopPlay(); }
}

function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "–";
  const s = Number(v).toFixed(digits);
  return /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

function showList(list, items) {
  list.innerHTML = "";
  for (const text of items) {
    const li = document.createElement("li");
    li.textContent = text;  // text, never HTML: a column name comes from the user's file
    list.appendChild(li);
  }
}

function fillSelect(select, options, value) {
  select.innerHTML = "";
  for (const [v, label] of options) {
    const o = document.createElement("option");
    o.value = String(v); o.textContent = label;
    select.appendChild(o);
  }
  select.value = String(value);
}

function withValue(list, v) { return list.includes(v) ? list : [...list, v].sort((a, b) => a - b); }

function renderControls() {
  const c = state.config, view = state.view;
  if (!c) return;
  const d = c.data, n = c.network;
  const opts = Object.entries(TOY);
  for (const [name, t] of Object.entries(view.tables)) opts.push([name, `${name}: ${t.name}`]);
  fillSelect($("data-name"), opts, d.name);
  const table = view.tables[d.name];
  $("table-options").hidden = !table;
  $("toy-options").hidden = !!table;
  if (table) {
    $("table-describe").textContent = table.describe;
    showList($("table-notes"), table.notes);
    const cols = table.numeric.map((x) => [x, x]);
    const pca = d.features === "pca";
    $("use-pca").checked = pca;
    fillSelect($("feature-x"), cols, pca ? "" : d.features[0]);
    fillSelect($("feature-y"), cols, pca ? "" : d.features[1]);
    $("feature-x").disabled = $("feature-y").disabled = pca;
  }
  $("n-points").value = d.n_points;
  $("noise").value = d.noise; $("noise-out").textContent = d.noise;
  $("train-ratio").value = d.train_ratio; $("train-ratio-out").textContent = d.train_ratio;
  $("data-seed").value = d.seed;
  // the reader's notes are listed under the table; the projection's own notes here
  const shown = new Set(table ? table.notes : []);
  $("data-notes").textContent = [view.data.describe || "", ...view.data.notes.filter((x) => !shown.has(x))].join(" ");

  const box = $("layer-controls");
  box.innerHTML = "";
  n.hidden.forEach((h, i) => {
    const div = document.createElement("div");
    div.className = "layer";
    div.innerHTML = `<div>layer ${i + 1}: <button data-i="${i}" data-d="-1" class="neurons">−</button>
      <b>${h}</b> <button data-i="${i}" data-d="1" class="neurons">+</button></div>`;
    const sel = document.createElement("select");
    sel.className = "activation"; sel.dataset.i = i;
    fillSelect(sel, ACTIVATIONS.map((a) => [a, a]), n.activations[i]);
    div.appendChild(sel);
    box.appendChild(div);
  });
  $("layer-count").textContent = `${n.hidden.length} hidden layer${n.hidden.length === 1 ? "" : "s"}`;
  $("add-layer").disabled = n.hidden.length >= MAX_LAYERS;
  $("remove-layer").disabled = n.hidden.length === 0;
  $("output").value = n.output; $("loss").value = n.loss; $("optimizer").value = n.optimizer;
  fillSelect($("lr"), withValue(LRS, n.lr).map((v) => [v, v]), n.lr);
  fillSelect($("l2"), withValue(L2S, n.l2).map((v) => [v, v]), n.l2);
  fillSelect($("dropout"), withValue(DROPOUTS, n.dropout).map((v) => [v, v]), n.dropout);
  $("batch-size").value = n.batch_size;
  $("net-seed").value = n.seed;
  const w = view.network.warning;
  $("pairing-warning").hidden = !w;
  $("pairing-warning").textContent = w ? `chainrule warns: ${w}` : "";
  $("summary").textContent = view.network.summary;
  for (const [id, what] of [["export-model", "model.npz"], ["export-history", "history.csv"],
                            ["export-snippet", "snippet.py"]]) {
    $(id).href = `/api/export/${what}?id=${encodeURIComponent(state.id)}`;
  }
  $("st-start").max = view.data.train.length - 1;
  renderTfControls();
}

function number(id, fallback) {
  const v = Number($(id).value);
  return Number.isFinite(v) && $(id).value !== "" ? v : fallback;
}

function bindControls() {
  $("data-name").onchange = (e) => chooseData(e.target.value);
  $("use-pca").onchange = (e) => setConfig((c) => {
    const numeric = state.view.tables[c.data.name].numeric;
    c.data.features = e.target.checked ? "pca" : numeric.slice(0, 2);
  });
  const pick = () => setConfig((c) => { c.data.features = [$("feature-x").value, $("feature-y").value]; });
  $("feature-x").onchange = pick; $("feature-y").onchange = pick;
  $("n-points").onchange = () => setConfig((c) => { c.data.n_points = number("n-points", c.data.n_points); });
  $("noise").oninput = (e) => { $("noise-out").textContent = e.target.value; };
  $("noise").onchange = (e) => setConfig((c) => { c.data.noise = Number(e.target.value); });
  $("train-ratio").oninput = (e) => { $("train-ratio-out").textContent = e.target.value; };
  $("train-ratio").onchange = (e) => setConfig((c) => { c.data.train_ratio = Number(e.target.value); });
  $("data-seed").onchange = () => setConfig((c) => { c.data.seed = number("data-seed", c.data.seed); });
  $("add-layer").onclick = () => setConfig((c) => {
    const h = c.network.hidden, a = c.network.activations;
    h.push(h.length ? h[h.length - 1] : 4);
    a.push(a.length ? a[a.length - 1] : "tanh");
  });
  $("remove-layer").onclick = () => setConfig((c) => { c.network.hidden.pop(); c.network.activations.pop(); });
  $("layer-controls").onclick = (e) => {
    const b = e.target.closest("button.neurons");
    if (!b) return;
    const i = Number(b.dataset.i), delta = Number(b.dataset.d);
    const h = state.config.network.hidden[i] + delta;
    if (h < 1 || h > MAX_NEURONS) return;
    setConfig((c) => { c.network.hidden[i] = h; });
  };
  $("layer-controls").onchange = (e) => {
    if (!e.target.classList.contains("activation")) return;
    const i = Number(e.target.dataset.i);
    setConfig((c) => { c.network.activations[i] = e.target.value; });
  };
  for (const key of ["output", "loss", "optimizer"]) {
    $(key).onchange = (e) => setConfig((c) => { c.network[key] = e.target.value; });
  }
  for (const key of ["lr", "l2", "dropout"]) {
    $(key).onchange = (e) => setConfig((c) => { c.network[key] = Number(e.target.value); });
  }
  $("batch-size").onchange = () => setConfig((c) => { c.network.batch_size = number("batch-size", c.network.batch_size); });
  $("net-seed").onchange = () => setConfig((c) => { c.network.seed = number("net-seed", c.network.seed); });
  $("csv-file").onchange = upload;
  $("show-test").onchange = drawSurface;

  $("play").onclick = () => (state.playing ? stopPlay() : startPlay());
  $("step").onclick = () => { stopPlay(); guarded(async () => applyTick(await api("/api/train", {steps: 1}))); };
  $("epoch").onclick = () => { stopPlay(); guarded(async () => applyTick(await api("/api/train", {steps: 0, epochs: 1}))); };
  $("reset").onclick = () => { stopPlay(); guarded(async () => { showMessage(""); applyFull(await api("/api/reset", {})); }); };

  $("st-begin").onclick = beginStepThrough;
  $("st-next").onclick = () => { state.stage++; renderStage(); drawNetwork(); };
  $("st-prev").onclick = () => { state.stage--; renderStage(); drawNetwork(); };
}

async function upload(e) {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  stopPlay();
  if (file.size > 1000000) {
    showMessage(`${file.name} is larger than 1000 kB; the playground takes small tables (use \`chainrule train\` for large ones).`);
    return;
  }
  await guarded(async () => {
    const url = `/api/upload?id=${encodeURIComponent(state.id)}&name=${encodeURIComponent(file.name)}`;
    const r = await serverFetch(url, {method: "POST", headers: {"Content-Type": "text/csv"}, body: file});
    let data;
    try { data = await r.json(); } catch (err) { throw new Error(`the server answered ${r.status} without a message`); }
    if (!r.ok) throw new Error(data.error || `the server answered ${r.status}`);
    showMessage(`${file.name} loaded: ${data.tables.upload.describe}`, "info");
    applyFull(data);
  });
}

// ------------------------------------------------------------------ training
function startPlay() {
  if (state.playing || state.view.tick.message) return;
  state.playing = true;
  $("play").textContent = "❚❚ pause";
  (async () => {
    while (state.playing) {
      if (!state.busy) {
        state.busy = true;
        try { applyTick(await api("/api/train", {steps: Number($("per-tick").value)})); }
        catch (e) { showMessage(e.message); stopPlay(); }
        finally { state.busy = false; }
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  })();
}

function stopPlay() {
  state.playing = false;
  $("play").textContent = "▶ play";
}

// ------------------------------------------------------------------ colours
function mix(a, b, t) { return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)); }
function hex(h) { return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)); }
function diverging(v, scale) { // v in [-scale, scale]: orange below 0, blue above
  const t = Math.max(-1, Math.min(1, scale > 0 ? v / scale : 0));
  return t >= 0 ? mix(WHITE, POS, t) : mix(WHITE, NEG, -t);
}
function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
function dequantise(tile) {
  const q = decode(tile.b64), k = (tile.hi - tile.lo) / 255;
  return Array.from(q, (v) => tile.lo + v * k);
}

// A square image of a surface (GRIDxGRID, a hidden neuron's smaller), on an offscreen
// canvas to draw at once (one canvas per size, reused: the next call overwrites it).
// Its values are bytes: each colour is worked out once per byte (and class).
const offscreen = new Map();
function surfaceImage(tile, kind) {
  const q = decode(tile.b64), g = Math.round(Math.sqrt(q.length)), step = (tile.hi - tile.lo) / 255;
  if (!offscreen.has(g)) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = g;
    const context = canvas.getContext("2d");
    offscreen.set(g, {canvas, context, img: context.createImageData(g, g)});
  }
  const {canvas: c, context: ctx, img} = offscreen.get(g);
  const seen = new Map();
  const cls = kind === "multi" ? decode(tile.cls) : null;
  const k = state.view.data.classes.length;
  const scale = Math.max(Math.abs(tile.lo), Math.abs(tile.hi));
  const data = img.data;
  for (let i = 0; i < q.length; i++) {
    const key = cls ? 256 * cls[i] + q[i] : q[i];
    let rgb = seen.get(key);
    if (!rgb) {
      const v = tile.lo + q[i] * step;  // the value dequantise() gives
      if (kind === "binary") rgb = mix(WHITE, v >= 0.5 ? POS : NEG, 0.75 * Math.abs(2 * v - 1));
      else if (kind.startsWith("class")) rgb = mix(WHITE, hex(PALETTE[Number(kind.slice(5))]), v);
      else if (kind === "multi") rgb = mix(WHITE, hex(PALETTE[cls[i]]), 0.75 * Math.max(0, (v - 1 / k) / (1 - 1 / k)));
      else rgb = diverging(v, scale);
      seen.set(key, rgb);
    }
    data[4 * i] = rgb[0]; data[4 * i + 1] = rgb[1]; data[4 * i + 2] = rgb[2]; data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function pointColour(i) {
  const d = state.view.data;
  if (d.task === "classification") return PALETTE[d.y[i]];
  const scale = Math.max(...d.y.map(Math.abs));
  const [r, g, b] = diverging(d.y[i], scale);
  return `rgb(${r},${g},${b})`;
}

// ------------------------------------------------------------------ drawing
function drawSurface() {
  const canvas = $("surface"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  const d = state.view.data, out = state.view.tick.surfaces.output;
  ctx.clearRect(0, 0, W, H);
  const [x0, x1] = d.extent;
  const showTest = $("show-test").checked;
  if (d.X[0].length === 1) { // 1-D regression: x across, y up, the prediction as a curve
    const preds = out.values;
    const all = [...d.y, ...preds];
    const lo = Math.min(...all) - 0.1, hi = Math.max(...all) + 0.1;
    const px = (x) => ((x - x0) / (x1 - x0)) * W, py = (y) => H - ((y - lo) / (hi - lo)) * H;
    ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(0, py(0)); ctx.lineTo(W, py(0)); ctx.stroke();
    drawPoints(ctx, (i) => [px(d.X[i][0]), py(d.y[i])], showTest, () => "#777");
    ctx.strokeStyle = PALETTE[1]; ctx.lineWidth = 2.5; ctx.beginPath();
    preds.forEach((v, i) => {
      const x = x0 + ((x1 - x0) * i) / (preds.length - 1);
      i ? ctx.lineTo(px(x), py(v)) : ctx.moveTo(px(x), py(v));
    });
    ctx.stroke(); ctx.lineWidth = 1;
    drawAxes(ctx, W, H, [x0, x1, lo, hi], [d.features[0], "y"]);
    return;
  }
  const [, , y0, y1] = d.extent;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(surfaceImage(discreteTile(out), out.kind || "regression"), 0, 0, W, H);
  const px = (x) => ((x - x0) / (x1 - x0)) * W, py = (y) => ((y1 - y) / (y1 - y0)) * H;
  drawPoints(ctx, (i) => [px(d.X[i][0]), py(d.X[i][1])], showTest, pointColour);
  drawAxes(ctx, W, H, [x0, x1, y0, y1], d.features);
}

function drawPoints(ctx, at, showTest, colour) {
  const d = state.view.data;
  if (state.trace) { // the step-through batch, ringed
    ctx.strokeStyle = "#f2c200"; ctx.lineWidth = 3;
    for (const i of state.trace.rows) {
      const [x, y] = at(i);
      ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
    }
    ctx.lineWidth = 1;
  }
  for (const i of d.train) {
    const [x, y] = at(i);
    ctx.fillStyle = colour(i); ctx.strokeStyle = "#fff";
    ctx.beginPath(); ctx.arc(x, y, 3.2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
  }
  if (!showTest) return;
  for (const i of d.test) {
    const [x, y] = at(i);
    ctx.fillStyle = "#fff"; ctx.strokeStyle = colour(i); ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 3.2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    ctx.lineWidth = 1;
  }
}

function drawTile(ctx, x, y, s, tile) {
  if (tile.values) { // 1-D: a small line plot
    const v = tile.values, lo = Math.min(...v), hi = Math.max(...v);
    ctx.fillStyle = "#fff"; ctx.fillRect(x, y, s, s);
    ctx.strokeStyle = "#333"; ctx.beginPath();
    v.forEach((a, i) => {
      const px = x + (s * i) / (v.length - 1), py = y + s - 2 - ((a - lo) / (hi - lo || 1)) * (s - 4);
      i ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
    });
    ctx.stroke();
    return;
  }
  ctx.drawImage(surfaceImage(tile, tile.kind || "regression"), x, y, s, s);
}

function inputTile(j) { // the input column j, as a surface (the server's, else x_j)
  if (state.view.network.input_tiles) return state.view.network.input_tiles[j];
  const g = state.view.data.grid, values = new Uint8Array(g * g);
  for (let r = 0; r < g; r++) for (let c = 0; c < g; c++) {
    values[r * g + c] = Math.round(255 * (j === 0 ? c / (g - 1) : 1 - r / (g - 1)));
  }
  let s = ""; values.forEach((v) => { s += String.fromCharCode(v); });
  return {lo: -1, hi: 1, b64: btoa(s)};
}

function drawNetwork() {
  const canvas = $("network"), view = state.view, tick = view.tick;
  const sizes = view.network.sizes, S = 34, gap = 8;
  const maxNodes = Math.max(...sizes);
  canvas.height = Math.max(240, maxNodes * (S + gap) + 50);
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const colX = (c) => 30 + ((W - 60 - S) * c) / (sizes.length - 1);
  const nodeY = (c, i) => (H - 30) / 2 - (sizes[c] * (S + gap) - gap) / 2 + i * (S + gap);
  const hl = state.trace && state.stage >= 0 ? state.trace.stages[state.stage].highlight : null;
  state.netGeom = {colX, nodeY, S}; // for a click on an edge (edgeAt)
  // edges, weights as colour (sign) and width (size)
  tick.weights.forEach((layer, l) => {
    const c = l + 1, lit = hl && hl.kind === "edges" && hl.column === c;
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      const [r, g, b] = w >= 0 ? POS : NEG;
      const alpha = hl ? (lit ? 0.95 : 0.12) : 0.7;
      ctx.strokeStyle = `rgba(${r},${g},${b},${alpha})`;
      ctx.lineWidth = Math.min(7, 0.3 + 2.5 * Math.abs(w));
      ctx.beginPath();
      ctx.moveTo(colX(c - 1) + S, nodeY(c - 1, i) + S / 2);
      ctx.lineTo(colX(c), nodeY(c, j) + S / 2);
      ctx.stroke();
    }));
  });
  ctx.lineWidth = 1;
  // nodes: inputs, each hidden neuron's own surface, the output
  const d = view.data, hidden = tick.surfaces.hidden, last = sizes.length - 1;
  sizes.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      const x = colX(c), y = nodeY(c, i);
      if (c === 0 && (d.X[0].length === 2 || view.network.input_tiles)) drawTile(ctx, x, y, S, inputTile(i));
      else if (c === 0) drawTile(ctx, x, y, S, {values: [0, 1]}); // x1 itself: a ramp
      else if (c > 0 && c < last && hidden[c - 1]) drawTile(ctx, x, y, S, hidden[c - 1][i]);
      else if (c === last && n === 1) drawTile(ctx, x, y, S, tick.surfaces.output);
      else if (c === last && tick.surfaces.output.classes) {
        ctx.drawImage(surfaceImage(tick.surfaces.output.classes[i], "class" + i), x, y, S, S);
      }
      else { ctx.fillStyle = c === last ? PALETTE[i % 10] : "#eee"; ctx.fillRect(x, y, S, S); }
      const lit = hl && (hl.kind === "nodes" || hl.kind === "output") && hl.column === c;
      ctx.strokeStyle = lit ? "#f2c200" : "#999";
      ctx.lineWidth = lit ? 4 : 1;
      ctx.strokeRect(x, y, S, S);
      ctx.lineWidth = 1;
      const v = lit ? nodeValue(i, n) : null;
      if (v !== null) {
        ctx.fillStyle = "#000"; ctx.font = "bold 11px ui-monospace, monospace"; ctx.textAlign = "left";
        ctx.fillText(fmt(v, 3), x + S + 3, y + S / 2 + 4);
      }
    }
    ctx.fillStyle = "#445"; ctx.font = "11px system-ui"; ctx.textAlign = "center";
    const acts = state.config.network.activations;
    const label = c === 0 ? inputsLabel()
      : c === last ? `${state.config.network.output} + ${LOSS_SHORT[state.config.network.loss]}`
      : `${sizes[c]} × ${acts[c - 1]}`;
    ctx.fillText(label, colX(c) + S / 2, H - 10);
  });
  drawEdgeMark(ctx); drawBackpropFlow(ctx);
}

// With one sample in the step, the stage's value for neuron i of a lit column (else null).
function nodeValue(i, n) {
  const s = state.trace.stages[state.stage], v = s.value;
  if (s.shape.length !== 2 || s.shape[0] !== 1 || s.shape[1] !== n) return null;
  return v[0][i];
}

function drawGrads() {
  const canvas = $("grads"), g = state.view.tick.grad_norms;
  canvas.height = 14 + 18 * g.length;
  const ctx = canvas.getContext("2d"), W = canvas.width;
  ctx.clearRect(0, 0, W, canvas.height);
  const hi = Math.max(...g.filter((v) => v !== null), 1e-12);
  ctx.font = "11px system-ui";
  g.forEach((v, l) => {
    const y = 6 + 18 * l;
    ctx.fillStyle = "#445"; ctx.textAlign = "left"; ctx.fillText(`W${l + 1}`, 0, y + 11);
    ctx.fillStyle = PALETTE[1]; ctx.fillRect(30, y, ((W - 110) * (v || 0)) / hi, 13);
    ctx.fillStyle = "#445"; ctx.fillText(v === null ? "not finite" : Number(v).toPrecision(3), W - 74, y + 11);
  });
}

// ------------------------------------------------------------------ step-through
function beginStepThrough() {
  stopPlay();
  const start = number("st-start", 0), size = number("st-size", 1);
  guarded(async () => {
    state.trace = await api("/api/explain", {start, size});
    state.stage = 0;
    renderStage(); drawNetwork(); drawSurface();
  });
}

function matrixTable(value) {
  const rows = Array.isArray(value) ? (Array.isArray(value[0]) ? value : [value]) : [[value]];
  const t = document.createElement("table");
  for (const row of rows) {
    const tr = t.insertRow();
    for (const v of row) {
      const td = tr.insertCell();
      td.textContent = fmt(v);
      if (v < 0) td.className = "neg";
    }
  }
  return t;
}

function renderStage() {
  const tr = state.trace, i = state.stage, box = $("st-stage");
  $("st-prev").disabled = !tr || i <= 0;
  $("st-next").disabled = !tr || i >= tr.stages.length - 1;
  box.hidden = !tr;
  if (!tr) { $("st-progress").textContent = ""; return; }
  const s = tr.stages[i];
  $("st-progress").textContent = `stage ${i + 1} of ${tr.stages.length}`;
  $("st-phase").textContent = s.phase;
  $("st-layer").textContent = s.layer;
  $("st-text").textContent = s.text;
  if (window.katex) katex.render(s.latex, $("st-latex"), {throwOnError: false, displayMode: true});
  $("st-words").textContent = s.words;
  $("st-name").textContent = s.name;
  $("st-shape").textContent = `(${s.shape.join(", ")})`;
  $("st-value").replaceChildren(matrixTable(s.value));
  const batch = document.createElement("div");
  batch.append(`rows ${tr.rows.join(", ")}: X =`, matrixTable(tr.X), "targets T =", matrixTable(tr.T));
  $("st-batch").replaceChildren(batch);
  $("st-losses").textContent = `loss on this batch before the step ${fmt(tr.loss_before, 6)}, ` +
    `after the update ${fmt(tr.loss_after, 6)} (learning rate ${tr.lr})`;
}

// A click on the surface picks the nearest training point for the step-through.
function pickSample(e) {
  const canvas = $("surface"), rect = canvas.getBoundingClientRect(), d = state.view.data;
  const cx = ((e.clientX - rect.left) * canvas.width) / rect.width;
  const cy = ((e.clientY - rect.top) * canvas.height) / rect.height;
  const [x0, x1, y0, y1] = d.extent, W = canvas.width, H = canvas.height;
  let lo = y0, hi = y1;
  if (d.X[0].length === 1) {
    const all = [...d.y, ...state.view.tick.surfaces.output.values];
    lo = Math.min(...all) - 0.1; hi = Math.max(...all) + 0.1;
  }
  let best = 0, bestDist = Infinity;
  d.train.forEach((row, k) => {
    const vy = d.X[0].length === 1 ? d.y[row] : d.X[row][1];
    const px = ((d.X[row][0] - x0) / (x1 - x0)) * W, py = ((hi - vy) / (hi - lo)) * H;
    const dist = (px - cx) ** 2 + (py - cy) ** 2;
    if (dist < bestDist) { best = k; bestDist = dist; }
  });
  $("st-start").value = best;
  beginStepThrough();
}

// ------------------------------------------------------------------ TensorFlow Playground's controls
// The learning rate, the regularisation and the batch size change while training goes
// on (the server keeps the network, its optimizer and the epoch); play is not stopped.
function tuneConfig(change) {
  const next = structuredClone(state.config);
  change(next);
  return guarded(async () => {
    const view = await api("/api/config", {config: next});
    showMessage("");
    applyFull(view);
  });
}

const INPUT_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
                      "sin(x1)": "sin x₁", "sin(x2)": "sin x₂"};

// Input features as toggles: the engine sees the chosen columns of x1 (and x2).
function renderTfControls() {
  renderOutputLegend();
  markNeuronCap();
  const n = state.config.network;
  fillSelect($("l1"), withValue(L1S, n.l1 || 0).map((v) => [v, v]), n.l1 || 0);
  const box = $("input-toggles"), chosen = state.config.data.inputs || ["x1", "x2"];
  const oneD = state.view.data.X[0].length === 1;
  box.replaceChildren();
  for (const [name, label] of Object.entries(INPUT_LABELS)) {
    if (oneD && name.includes("x2")) continue;
    const l = document.createElement("label"), cb = document.createElement("input");
    cb.type = "checkbox"; cb.dataset.input = name; cb.checked = chosen.includes(name);
    cb.disabled = cb.checked && chosen.length === 1; // at least one input
    l.append(cb, " " + label);
    box.appendChild(l);
  }
  const names = state.view.data.features;
  $("input-meaning").textContent = names.join() === "x1,x2" || names.join() === "x1" ? ""
    : `x₁ = ${names[0]}` + (names[1] ? `, x₂ = ${names[1]}` : "");
}

// "Discretize output": the output surface as the decision itself, each pixel the full
// colour of its class (or of the sign of a regression's value); a copy of the tile.
function discreteTile(tile) {
  if (!$("discretize").checked) return tile;
  const values = dequantise(tile), kind = tile.kind || "regression";
  const cut = kind === "binary" ? 0.5 : 0;
  let s = "";
  for (const v of values) s += String.fromCharCode(kind === "multi" || v >= cut ? 255 : 0);
  const [lo, hi] = kind === "regression" ? [-1, 1] : [0, 1];
  return {...tile, lo, hi, b64: btoa(s)};
}

// ---- click an edge: its weight w, dL/dw of the last step, and a new w to train from
function edgeEnds(l, i, j) { // the canvas segment of W_l[i, j]
  const {colX, nodeY, S} = state.netGeom;
  return [colX(l - 1) + S, nodeY(l - 1, i) + S / 2, colX(l), nodeY(l, j) + S / 2];
}

function edgeAt(x, y) { // the edge nearest (x, y), within 6 px, as {l, i, j}
  let best = null, bestD = 6;
  state.view.tick.weights.forEach((layer, k) => layer.W.forEach((row, i) => row.forEach((w, j) => {
    const [ax, ay, bx, by] = edgeEnds(k + 1, i, j);
    const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    const d = Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay));
    if (d < bestD) { best = {l: k + 1, i, j}; bestD = d; }
  })));
  return best;
}

function clickNetwork(e) {
  const canvas = $("network"), rect = canvas.getBoundingClientRect();
  const x = ((e.clientX - rect.left) * canvas.width) / rect.width;
  const y = ((e.clientY - rect.top) * canvas.height) / rect.height;
  state.edge = edgeAt(x, y);
  if (state.edge) $("edge-value").value = state.view.tick.weights[state.edge.l - 1].W[state.edge.i][state.edge.j];
  drawNetwork(); renderEdge();
}

function renderEdge() {
  const e = state.edge, tick = state.view.tick, sizes = state.view.network.sizes;
  if (e && (e.l > tick.weights.length || e.i >= sizes[e.l - 1] || e.j >= sizes[e.l])) state.edge = null;
  $("edge-editor").hidden = !state.edge;
  if (!state.edge) return;
  const from = e.l === 1 ? (INPUT_LABELS[state.view.network.inputs[e.i]] || `x${e.i + 1}`)
    : `neuron ${e.i + 1} of layer ${e.l - 1}`;
  const to = e.l === sizes.length - 1 ? `output ${e.j + 1}` : `neuron ${e.j + 1} of layer ${e.l}`;
  $("edge-name").textContent = `W${e.l}[${e.i}, ${e.j}]`;
  $("edge-where").textContent = `from ${from} to ${to}`;
  $("edge-w").textContent = fmt(tick.weights[e.l - 1].W[e.i][e.j], 5);
  $("edge-grad").textContent = tick.grads ? Number(tick.grads[e.l - 1][e.i][e.j]).toPrecision(4) : "no step yet";
}

function drawEdgeMark(ctx) {
  if (!state.edge || state.edge.l > state.view.tick.weights.length) return;
  const [ax, ay, bx, by] = edgeEnds(state.edge.l, state.edge.i, state.edge.j);
  ctx.save(); ctx.strokeStyle = "#f2c200"; ctx.lineWidth = 3; ctx.setLineDash([6, 4]);
  ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke(); ctx.restore();
}

function setEdgeWeight() {
  const e = state.edge, value = Number($("edge-value").value);
  if (!e || $("edge-value").value === "") return;
  guarded(async () => applyTick(await api("/api/weight", {layer: e.l, i: e.i, j: e.j, value})));
}

// ---- the output plot's axes and legend, the neuron cap, a stopped server, the loss chart
function drawAxes(ctx, W, H, [x0, x1, y0, y1], names) { // names and end values, on the plot
  ctx.save();
  ctx.font = "12px system-ui"; ctx.fillStyle = "#222"; ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.lineWidth = 3;
  const text = (t, x, y, align) => { ctx.textAlign = align; ctx.strokeText(t, x, y); ctx.fillText(t, x, y); };
  text(`${names[0]} →`, W / 2, H - 5, "center");
  text(x0.toFixed(1), 3, H - 5, "left"); text(x1.toFixed(1), W - 3, H - 5, "right");
  text(y1.toFixed(1), 3, 13, "left"); text(y0.toFixed(1), 3, H - 19, "left");
  ctx.translate(13, H / 2); ctx.rotate(-Math.PI / 2); text(`${names[1]} →`, 0, 0, "center");
  ctx.restore();
}

function renderOutputLegend() {
  const d = state.view.data, box = $("class-legend");
  box.replaceChildren();
  if (d.task === "classification") {
    d.classes.forEach((name, k) => {
      const item = document.createElement("span"), dot = document.createElement("i");
      dot.style.background = PALETTE[k];
      item.append(dot, `class ${name}`); // text, never HTML: a class name comes from the user's file
      box.appendChild(item);
    });
    return;
  }
  const item = document.createElement("span");
  item.className = "scale";
  item.append("value: ", Object.assign(document.createElement("i"), {className: "neg-end"}), " below 0 … above 0 ",
              Object.assign(document.createElement("i"), {className: "pos-end"}));
  box.appendChild(item);
}

// The "+" of a layer at the cap stays clickable and says why it adds nothing.
function markNeuronCap() {
  const why = `at most ${MAX_NEURONS} neurons per layer: the playground's cap, so that a tick of ` +
    `the largest network (${MAX_LAYERS} layers of ${MAX_NEURONS}) stays fast enough to watch; ` +
    "use cr.layers.build_mlp in Python for larger ones.";
  for (const b of document.querySelectorAll("button.neurons[data-d='1']")) {
    const full = state.config.network.hidden[Number(b.dataset.i)] >= MAX_NEURONS;
    b.classList.toggle("at-cap", full);
    b.title = full ? why : "one neuron more";
    b.dataset.why = full ? why : "";
  }
  const layersFull = state.config.network.hidden.length >= MAX_LAYERS;
  $("add-layer").title = layersFull ? `at most ${MAX_LAYERS} hidden layers: the playground's cap` : "one hidden layer more";
}

function explainCap(e) {
  const b = e.target.closest("button.at-cap");
  if (b) showMessage(b.dataset.why, "info");
}

const SERVER_STOPPED = "the chainrule server stopped: restart `chainrule playground`";

async function serverFetch(url, options) { // fetch, with a plain message when nobody answers
  try { return await fetch(url, options); } catch (e) { throw new Error(SERVER_STOPPED); }
}

// The loss curves; a log scale once the losses span more than two decades (an exploding
// loss), with the decades as labels.
function drawLossChart() {
  const canvas = $("curves"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  const cv = state.view.tick.curve, n = cv.step.length;
  ctx.clearRect(0, 0, W, H);
  const vals = [...cv.train_loss, ...cv.test_loss].filter((v) => v !== null && Number.isFinite(v));
  if (!vals.length) return;
  const pos = vals.filter((v) => v > 0), lo = Math.min(...pos), hi = Math.max(...vals);
  const log = pos.length > 0 && hi / lo > 100;
  state.lossScale = log ? "log" : "linear";
  const L = 44, T = 8, B = 30, smax = Math.max(cv.step[n - 1], 1);
  const [a, b] = log ? [Math.floor(Math.log10(lo)), Math.ceil(Math.log10(hi))] : [0, hi * 1.05 || 1];
  const f = (v) => (log ? Math.log10(Math.max(v, 10 ** a)) : v);
  const px = (s) => L + ((W - L - 6) * s) / smax, py = (v) => H - B - ((H - B - T) * (f(v) - a)) / (b - a);
  ctx.strokeStyle = "#ccc"; ctx.strokeRect(L, T, W - L - 6, H - B - T);
  ctx.fillStyle = "#445"; ctx.font = "11px system-ui"; ctx.textAlign = "right";
  const ticks = log ? lossDecades(a, b) : [0, hi / 2, hi];
  for (const v of ticks) ctx.fillText(lossLabel(v), L - 4, py(v) + 4);
  ctx.textAlign = "center";
  [0, Math.round(smax / 2), cv.step[n - 1]].forEach((s, k) => {
    ctx.textAlign = ["left", "center", "right"][k];
    ctx.fillText(String(s), k === 2 ? W - 6 : px(s), H - B + 13);
  });
  ctx.textAlign = "center";
  ctx.fillText(`step${log ? " · loss on a log scale" : ""}`, L + (W - L) / 2, H - 3);
  for (const [key, colour] of [["train_loss", "#333"], ["test_loss", PALETTE[0]]]) {
    ctx.strokeStyle = colour; ctx.lineWidth = 1.5; ctx.beginPath();
    let started = false;
    cv[key].forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      (started ? ctx.lineTo : ctx.moveTo).call(ctx, px(cv.step[i]), py(v)); started = true;
    });
    ctx.stroke();
  }
  ctx.lineWidth = 1;
}

function lossDecades(a, b) { // at most 5 labelled powers of ten from 10^a to 10^b
  const every = Math.ceil((b - a + 1) / 5), out = [];
  for (let e = a; e <= b; e += every) out.push(10 ** e);
  return out;
}

function lossLabel(v) { // 0.25, 3.1, 120, 4.8e5, 1e-5
  if (v === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(v)) + 1e-9);
  if (e < 4 && e > -4) return String(Number(v.toPrecision(2)));
  const m = Number((v / 10 ** e).toFixed(1));
  return `${m}e${e}`;
}

// ---- the backprop animation: the step-through's gradient stages (dZ of the loss, then
// each layer's dW, db, dA, dZ back to dX), one after another, the gradient drawn as dots
// travelling right to left across the edges; the step-through panel shows each stage.
const BACKPROP_MS = 900; // per stage
function backpropStages(trace) { // indices of the step-through's gradient stages, in order
  return trace.stages.map((s, k) => [s, k])
    .filter(([s]) => (s.phase === "loss" || s.phase === "backward") && s.name.startsWith("d"))
    .map(([, k]) => k);
}

async function animateBackprop() {
  if (state.animation) { state.animation.stop = true; return; }
  stopPlay();
  if (!state.trace) {
    const start = number("st-start", 0), size = number("st-size", 1);
    await guarded(async () => { state.trace = await api("/api/explain", {start, size}); });
    if (!state.trace) return;
  }
  const anim = state.animation = {stop: false, visited: [], t: 0};
  $("st-animate").textContent = "■ stop";
  for (const k of backpropStages(state.trace)) {
    if (anim.stop || !state.trace) break;
    state.stage = k;
    anim.visited.push(k);
    renderStage(); drawSurface();
    const t0 = performance.now(), ms = state.animMs || BACKPROP_MS;
    while (!anim.stop && state.trace && performance.now() - t0 < ms) {
      anim.t = (performance.now() - t0) / ms;
      drawNetwork();
      await new Promise((r) => requestAnimationFrame(r));
    }
  }
  anim.t = 0; state.animation = null;
  state.lastAnimation = anim.visited; // the stages shown, in order (read by the tests)
  $("st-animate").textContent = "▶ animate backprop";
  if (state.trace) drawNetwork();
}

function drawBackpropFlow(ctx) {
  const anim = state.animation;
  if (!anim || !state.trace || state.stage < 0) return;
  const s = state.trace.stages[state.stage], hl = s.highlight, sizes = state.view.network.sizes;
  const {colX, nodeY, S} = state.netGeom;
  // edges the gradient crosses: into column c from c + 1 (a neuron's gradient), or the
  // weights into column c (dW, db)
  const l = hl.kind === "edges" ? hl.column : hl.column + 1;
  ctx.save();
  if (l >= 1 && l < sizes.length) {
    ctx.fillStyle = "#d62728";
    for (let i = 0; i < sizes[l - 1]; i++) for (let j = 0; j < sizes[l]; j++) {
      const [ax, ay, bx, by] = edgeEnds(l, i, j), u = 1 - anim.t; // right to left
      ctx.beginPath(); ctx.arc(ax + u * (bx - ax), ay + u * (by - ay), 3, 0, 2 * Math.PI); ctx.fill();
    }
  }
  const x = colX(Math.min(hl.column, sizes.length - 1)) + S / 2;
  ctx.fillStyle = "#d62728"; ctx.font = "bold 12px system-ui"; ctx.textAlign = "center";
  ctx.fillText(`∂L/∂${s.name.slice(1)} ←`, x, 12);
  ctx.restore();
}

// Numbers on hover: the current stage's value at the neuron or edge under the pointer,
// else an edge's weight and gradient.
function hoverNetwork(e) {
  const canvas = $("network"), rect = canvas.getBoundingClientRect(), tip = $("net-tip");
  const x = ((e.clientX - rect.left) * canvas.width) / rect.width;
  const y = ((e.clientY - rect.top) * canvas.height) / rect.height;
  const text = hoverText(x, y);
  tip.hidden = !text;
  if (!text) return;
  tip.textContent = text;
  tip.style.left = `${e.clientX - rect.left + canvas.offsetLeft + 12}px`;
  tip.style.top = `${e.clientY - rect.top + canvas.offsetTop + 12}px`;
}

function nodeAt(x, y) {
  const {colX, nodeY, S} = state.netGeom, sizes = state.view.network.sizes;
  for (let c = 0; c < sizes.length; c++) for (let i = 0; i < sizes[c]; i++) {
    const nx = colX(c), ny = nodeY(c, i);
    if (x >= nx && x <= nx + S && y >= ny && y <= ny + S) return {c, i};
  }
  return null;
}

function hoverText(x, y) {
  const s = state.trace && state.stage >= 0 ? state.trace.stages[state.stage] : null;
  const node = nodeAt(x, y), edge = node ? null : edgeAt(x, y);
  const v = s ? s.value : null, hl = s ? s.highlight : null;
  const list = (xs) => xs.slice(0, 4).map((a) => fmt(a, 4)).join(", ") + (xs.length > 4 ? ", …" : "");
  if (node && s && hl.kind === "nodes" && hl.column === node.c && s.shape.length === 2) {
    return `${s.name}[:, ${node.i}] = ${list(v.map((row) => row[node.i]))}`;
  }
  if (edge && s && hl.kind === "edges" && hl.column === edge.l) {
    if (s.shape.length === 2) return `${s.name}[${edge.i}, ${edge.j}] = ${fmt(v[edge.i][edge.j], 5)}`;
    if (s.shape.length === 1) return `${s.name}[${edge.j}] = ${fmt(v[edge.j], 5)}`;
  }
  if (edge) {
    const tick = state.view.tick, w = tick.weights[edge.l - 1].W[edge.i][edge.j];
    const g = tick.grads ? Number(tick.grads[edge.l - 1][edge.i][edge.j]).toPrecision(4) : "no step yet";
    return `W${edge.l}[${edge.i}, ${edge.j}] = ${fmt(w, 5)}, ∂L/∂w = ${g} (click to set w)`;
  }
  return null;
}

// Leaving 1-D data (where only x1's inputs exist), the 2-D sets start from x1, x2 again.
function inputsAfterDataChange(inputs) {
  return state.view.data.X[0].length === 1 ? ["x1", "x2"] : inputs;
}

function inputsLabel() {
  return (state.view.network.inputs || state.view.data.features).map((x) => INPUT_LABELS[x] || x).join(", ");
}

function bindTfControls() {
  $("input-toggles").onchange = (e) => {
    const name = e.target.dataset.input;
    if (!name) return;
    setConfig((c) => {
      const now = new Set(c.data.inputs);
      e.target.checked ? now.add(name) : now.delete(name);
      c.data.inputs = Object.keys(INPUT_LABELS).filter((x) => now.has(x));
    });
  };
  for (const key of ["lr", "l2"]) {
    $(key).onchange = (e) => tuneConfig((c) => { c.network[key] = Number(e.target.value); });
  }
  $("batch-size").onchange = () => tuneConfig((c) => { c.network.batch_size = number("batch-size", c.network.batch_size); });
  $("l1").onchange = (e) => tuneConfig((c) => { c.network.l1 = Number(e.target.value); });
  $("discretize").onchange = drawSurface;
  $("network").onclick = clickNetwork;
  $("network").onmousemove = hoverNetwork;
  $("network").onmouseleave = () => { $("net-tip").hidden = true; };
  $("st-animate").onclick = animateBackprop;
  state.animation = null; // the running backprop animation
  state.lastAnimation = []; // the stages the last one showed, in order
  $("layer-controls").addEventListener("click", explainCap);
  $("edge-set").onclick = setEdgeWeight;
  $("edge-value").onkeydown = (e) => { if (e.key === "Enter") setEdgeWeight(); };
  $("edge-close").onclick = () => { state.edge = null; drawNetwork(); renderEdge(); };
}

// ------------------------------------------------------------------ start
bindControls();
bindTfControls();
$("surface").onclick = pickSample;
// One session per tab: its id lives in the tab's sessionStorage, so a reload asks for the
// same session (its network and training come back); leaving the tab releases it.
const SESSION_KEY = "chainrule-playground-session";
addEventListener("pagehide", () => {
  if (state.id) navigator.sendBeacon("/api/close", JSON.stringify({id: state.id}));
});
guarded(async () => {
  const saved = location.hash.length > 1 ? location.hash.slice(1) : null;
  state.id = sessionStorage.getItem(SESSION_KEY);
  const view = await api("/api/session", {});
  state.id = view.id;
  sessionStorage.setItem(SESSION_KEY, view.id);
  applyFull(view);
  if (view.notice) showMessage(view.notice);
  if (!saved) return;
  let config;
  try { config = JSON.parse(decodeURIComponent(saved)); } catch (e) {
    showMessage("the address holds settings that are not valid JSON; starting from the defaults.");
    return;
  }
  // a reload's address holds the resumed session's own settings: keep its training
  if (view.resumed && JSON.stringify(config) === JSON.stringify(view.config)) return;
  try { applyFull(await api("/api/config", {config})); } catch (e) {
    showMessage(`the settings in the address could not be used (${e.message}); starting from the defaults.`);
  }
});
