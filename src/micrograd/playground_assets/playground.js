// The playground page: it asks the server (micrograd in Python) for every number and draws them.
// Nothing here computes anything about the model: colours, positions and text are all it makes.
"use strict";

const SIDE = 300;  // pixels of the output picture
const STEPS_PER_FRAME = 10;  // training steps asked for with each picture while playing
const ORANGE = [245, 147, 34], BLUE = [8, 119, 189], WHITE = [255, 255, 255];  // class 0, class 1
const CLASS_COLORS = [ORANGE, BLUE, [44, 160, 44]];
const SVG = "http://www.w3.org/2000/svg";

const state = {
  session: null, choices: null, settings: null, frame: null, data: null, dataVersion: null,
  history: [], playing: false, busy: false, selected: null, graph: null, view: "neurons",
  expanded: [],  // the neurons drawn as their scalars in the one-box-per-neuron view
  stepper: null,  // position in the stepper: null (no stepper), or 0 .. forward + backward steps
  stats: {frames: 0, heatmaps: 0},  // read by the benchmark
  linkKey: null,  // the settings and points the share links were last written for
  editing: null,  // the weight or bias being edited: {layer, neuron, weight (null: the bias)}
};
window.playground = state;

const $ = (id) => document.getElementById(id);

// ---- talking to the server --------------------------------------------------------------------

async function api(path, body = {}) {
  const response = await fetch(path, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({session: state.session, ...body}),
  });
  const answer = await response.json();
  if (!response.ok) {
    const error = new Error(answer.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return answer;
}

function frameFields() {
  const fields = {have_history: state.history.length, data_version: state.dataVersion,
    model_version: state.frame ? state.frame.model_version : null};
  if (state.selected && state.graph) fields.graph = graphRequest();
  return fields;
}

async function call(path, body) {
  // One request at a time: the answer of each is drawn before the next is sent.
  while (state.busy) await new Promise((resolve) => setTimeout(resolve, 5));
  state.busy = true;
  try {
    const frame = await api(path, {...body, ...frameFields()});
    show(frame);
    message(frame.error);  // none: an earlier message goes
    return frame;
  } catch (error) {
    message(error.message);
    if (error.status === 429) await new Promise((resolve) => setTimeout(resolve, 1000));
    else pause();
    return null;
  } finally {
    state.busy = false;
  }
}

function message(text) { $("message").textContent = text || ""; }

// ---- training -----------------------------------------------------------------------------------

async function playLoop() {
  while (state.playing) {
    const frame = await call("/api/train", {steps: STEPS_PER_FRAME});
    if (frame && frame.error) pause();
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

function play() {
  if (state.playing) return;
  state.playing = true;
  closeStepper();
  $("play").innerHTML = "&#10074;&#10074; pause";
  playLoop();
}

function pause() {
  state.playing = false;
  $("play").innerHTML = "&#9654; play";
}

async function changeSettings(changes) {
  const frame = await call("/api/settings", {settings: changes});
  if (frame && frame.model_version !== (state.graph && state.graph.model_version)) dropGraph();
}

// ---- drawing a frame ----------------------------------------------------------------------------

function show(frame) {
  state.stats.frames++;
  if (frame.data) { state.data = frame.data; state.dataVersion = frame.data_version; }
  if (frame.history_from === 0) state.history = [];
  state.history.push(...frame.history);
  const modelChanged = !state.frame || state.frame.model_version !== frame.model_version;
  state.frame = frame;
  state.settings = frame.settings;
  showSettings();
  $("step-count").textContent = frame.step;
  const last = state.history[state.history.length - 1][1];
  $("train-loss").textContent = fmt(last.train_loss);
  $("test-loss").textContent = last.test_loss == null ? "-" : fmt(last.test_loss);
  $("test-accuracy").textContent = last.test_accuracy == null ? "-" : `${(100 * last.test_accuracy).toFixed(1)}%`;
  if (modelChanged || !document.querySelector("canvas.neuron")) buildNetwork();
  updateLinks();
  drawHeatmaps();
  drawLinks();
  drawPoints();
  drawCurves();
  if (frame.graph && state.graph) updateGraphNumbers(frame.graph);
}

function showSettings() {
  const s = state.settings;
  $("dataset").value = s.dataset;
  $("activation").value = s.activations.every((a) => a === s.activations[0]) ? s.activations[0] : "";
  $("lr").value = String(s.lr);
  $("reg-rate").value = String(s.reg_rate);
  $("regularization").value = s.regularization;
  $("noise").value = s.noise;
  $("noise-text").textContent = `${s.noise}%`;
  $("train-percent").value = s.train_percent;
  $("train-percent-text").textContent = `${s.train_percent}%`;
  $("optimizer").value = s.optimizer;
  $("batch-size").value = s.batch_size;
  $("batch-size-text").textContent = s.batch_size;
  if (document.activeElement !== $("seed")) $("seed").value = s.seed;
  $("layer-count").textContent = s.hidden.length;
  $("show-test").checked = state.showTest;
}

function buildNetwork() {
  const columns = $("columns");
  columns.innerHTML = "";
  const widths = state.frame.weights.map((layer) => layer.b.length);
  const hidden = state.settings.hidden;
  const input = column("inputs");
  const features = state.settings.features;
  for (const [name, label] of Object.entries(state.choices.features)) {  // every feature; the chosen ones feed the net
    const node = document.createElement("div");
    const on = features.includes(name);
    node.className = on ? "input-node" : "input-node off";
    node.textContent = label;
    node.dataset.feature = name;
    if (on) node.dataset.node = name;
    node.title = on ? `${label}: click to stop using it` : `${label}: click to use it as an input`;
    node.onclick = () => {
      const chosen = on ? features.filter((f) => f !== name) : [...features, name];
      if (chosen.length) changeSettings({features: chosen});
    };
    input.append(node);
  }
  widths.forEach((width, i) => {
    const isOutput = i === widths.length - 1;
    const col = column(isOutput ? "output" : `layer ${i + 1}: ${width}`);
    if (!isOutput) {
      const more = button("+", () => setWidth(i, hidden[i] + 1), hidden[i] >= state.choices.max_neurons);
      const fewer = button("\u2212", () => setWidth(i, hidden[i] - 1), hidden[i] <= 1);
      const menu = document.createElement("select");
      menu.className = "layer-activation";
      menu.innerHTML = state.choices.activation.map((a) => `<option value="${a}">${a}</option>`).join("");
      menu.value = state.settings.activations[i];
      menu.onchange = () => {
        const activations = [...state.settings.activations];
        activations[i] = menu.value;
        changeSettings({activations});
      };
      col.firstChild.append(document.createElement("br"), more, fewer, document.createElement("br"), menu);
    }
    for (let j = 0; j < width; j++) {
      const canvas = document.createElement("canvas");
      canvas.className = "neuron";
      canvas.width = canvas.height = state.data.grid;
      canvas.dataset.node = `L${i}.N${j}`;
      canvas.title = `L${i}.N${j}: its output over the plane (click: set its bias)`;
      canvas.onclick = (event) => openEditor({layer: i, neuron: j, weight: null}, event);
      col.append(canvas);
    }
  });
  function column(title) {
    const col = document.createElement("div");
    col.className = "column";
    const head = document.createElement("div");
    head.className = "head";
    head.textContent = title;
    col.append(head);
    columns.append(col);
    return col;
  }
}

function button(text, onclick, disabled) {
  const b = document.createElement("button");
  b.textContent = text;
  b.disabled = disabled;
  b.onclick = onclick;
  return b;
}

function setWidth(layer, width) {
  const hidden = [...state.settings.hidden];
  hidden[layer] = width;
  changeSettings({hidden});
}

function decode(base64, Type) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Type(bytes.buffer);
}

function colour(value) {
  // A neuron's output or a score as a colour: orange below 0, blue above, saturated at -1 and 1.
  const t = Math.max(-1, Math.min(1, value));
  const [a, b] = t < 0 ? [ORANGE, WHITE] : [WHITE, BLUE];
  const u = t < 0 ? t + 1 : t;
  return [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * u);
}

function paint(canvas, cells, cellColour) {
  const grid = state.data.grid;
  const context = canvas.getContext("2d");
  const image = context.createImageData(grid, grid);
  for (let c = 0; c < grid * grid; c++) {
    const [r, g, b] = cellColour(c);
    image.data.set([r, g, b, 255], 4 * c);
  }
  context.putImageData(image, 0, 0);
}

function drawHeatmaps() {
  const frame = state.frame, cells = state.data.grid * state.data.grid;
  const values = decode(frame.heatmaps, Float32Array);  // (neurons, cells): every neuron's output
  const canvases = document.querySelectorAll("canvas.neuron");
  canvases.forEach((canvas, n) => paint(canvas, cells, (c) => colour(values[n * cells + c])));
  const out = $("output-map");
  out.width = out.height = state.data.grid;
  const discrete = state.data.classes === 3 || (state.data.classes === 2 && $("discretize").checked);
  if (!discrete) {  // one score (or a regression's value) as a shade
    const score = (canvases.length - 1) * cells;
    paint(out, cells, (c) => colour(values[score + c]).map((v) => 255 - 0.6 * (255 - v)));
  } else {  // each cell's predicted class (the server's losses.predicted_classes)
    const classes = decode(frame.classes, Uint8Array);
    paint(out, cells, (c) => CLASS_COLORS[classes[c]].map((v) => 255 - 0.45 * (255 - v)));
  }
  state.stats.heatmaps++;
}

function drawLinks() {
  const svg = $("links");
  svg.innerHTML = "";
  const box = svg.getBoundingClientRect();
  const centre = (element) => {
    const r = element.getBoundingClientRect();
    return [r.left + r.width / 2 - box.left, r.top + r.height / 2 - box.top];
  };
  const columns = [...document.querySelectorAll("#columns .column")];
  state.frame.weights.forEach((layer, i) => {
    const sources = columns[i].querySelectorAll("[data-node]");
    const targets = columns[i + 1].querySelectorAll("[data-node]");
    layer.w.forEach((row, j) => row.forEach((w, k) => {
      const [x1, y1] = centre(sources[k]), [x2, y2] = centre(targets[j]);
      const line = document.createElementNS(SVG, "line");
      Object.entries({x1, y1, x2, y2}).forEach(([name, v]) => line.setAttribute(name, v));
      line.setAttribute("stroke", `rgb(${(w < 0 ? ORANGE : BLUE).join(",")})`);
      line.setAttribute("stroke-width", Math.min(6, 0.5 + 1.5 * Math.abs(w)));
      line.setAttribute("stroke-opacity", 0.75);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${sources[k].dataset.node} \u2192 ${targets[j].dataset.node}: weight ${w} (click: set it)`;
      line.append(title);
      Object.assign(line.dataset, {layer: i, neuron: j, weight: k});
      line.addEventListener("click", (event) => openEditor({layer: i, neuron: j, weight: k}, event));
      svg.append(line);
    }));
  });
}

function toPixel([x, y]) {
  const [low, high] = state.data.bounds;
  return [(x - low) / (high - low) * SIDE, (high - y) / (high - low) * SIDE];
}

function drawPoints() {
  const context = $("output-points").getContext("2d");
  context.clearRect(0, 0, SIDE, SIDE);
  const parts = state.showTest ? ["train", "test"] : ["train"];
  for (const part of parts) {
    state.data[part].forEach(([x, y, label], index) => {
      const [px, py] = toPixel([x, y]);
      context.beginPath();
      context.arc(px, py, 3.2, 0, 2 * Math.PI);
      const [r, g, b] = state.data.classes === null ? colour(label) : CLASS_COLORS[label];
      context.fillStyle = part === "train" ? `rgb(${r},${g},${b})` : "#fff";
      context.strokeStyle = part === "train" ? "#fff" : `rgb(${r},${g},${b})`;
      context.lineWidth = part === "train" ? 1 : 1.6;
      context.fill();
      context.stroke();
      const chosen = state.selected && state.selected.part === part && state.selected.index === index;
      if (chosen) {
        context.beginPath();
        context.arc(px, py, 7, 0, 2 * Math.PI);
        context.strokeStyle = "#000";
        context.lineWidth = 2;
        context.stroke();
      }
    });
  }
}

function drawCurves() {
  const canvas = $("curves"), context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const history = state.history;
  if (history.length < 2) return;
  let top = 0;
  for (const [, l] of history) top = Math.max(top, l.train_loss, l.test_loss ?? 0);
  const first = history[0][0], span = Math.max(1, history[history.length - 1][0] - first);
  for (const [key, style] of [["test_loss", "#999"], ["train_loss", "#333"]]) {
    context.beginPath();
    history.forEach(([step, l], n) => {
      if (l[key] == null) return;  // no test points
      const x = (step - first) / span * (canvas.width - 2) + 1;
      const y = canvas.height - 2 - l[key] / (top || 1) * (canvas.height - 4);
      n ? context.lineTo(x, y) : context.moveTo(x, y);
    });
    context.strokeStyle = style;
    context.stroke();
  }
  context.fillStyle = "#666";
  context.fillText(`${fmt(top)}`, 4, 10);
}

function fmt(x) {
  // As micrograd.viz.format_number(x, 4) prints it.
  if (x === 0) return "0.0000";
  const magnitude = Math.abs(x);
  if (magnitude >= 1e6 || magnitude < 1e-4) return x.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");  // e-05, as Python
  return x.toFixed(4);
}

// ---- editing a weight or a bias --------------------------------------------------------------------

function openEditor(target, event) {
  const layer = state.frame.weights[target.layer];
  const value = target.weight === null ? layer.b[target.neuron] : layer.w[target.neuron][target.weight];
  const name = `L${target.layer}.N${target.neuron}`;
  const source = target.weight === null ? null : document.querySelectorAll("#columns .column")[target.layer]
    .querySelectorAll("[data-node]")[target.weight].dataset.node;
  $("param-name").textContent = target.weight === null ? `${name}'s bias ` : `weight ${source} \u2192 ${name} `;
  $("param-value").value = value;
  state.editing = target;
  const editor = $("param-editor");
  editor.hidden = false;
  editor.style.left = `${event.clientX + 8}px`;
  editor.style.top = `${event.clientY + 8}px`;
  $("param-value").focus();
}

async function setParameter() {
  const value = Number($("param-value").value);
  const target = state.editing;
  if (!target || $("param-value").value.trim() === "" || !Number.isFinite(value)) return message("type a number");
  $("param-editor").hidden = true;
  state.editing = null;
  await call("/api/parameter", {...target, value});
}

// ---- your own points ------------------------------------------------------------------------------

function fromPixel(px, py) {
  const [low, high] = state.data.bounds;
  return [low + px / SIDE * (high - low), high - py / SIDE * (high - low)];
}

async function editPoints(event) {
  // Click a point to remove it; click elsewhere to add one (class 1, or the regression's +1),
  // shift-click for class 0 (-1).
  const point = nearestPoint(event);
  if (point) {
    dropGraph();
    await call("/api/points", {remove: [point.part, point.index]});
    return;
  }
  const rect = $("output-points").getBoundingClientRect();
  const [x, y] = fromPixel(event.clientX - rect.left, event.clientY - rect.top);
  const label = state.data.classes === null ? (event.shiftKey ? -1 : 1) : (event.shiftKey ? 0 : 1);
  await call("/api/points", {add: [x, y, label, "train"]});
}

function pointRows() {
  return ["train", "test"].flatMap((part) => state.data[part].map(([x, y, label]) => [x, y, label, part]));
}

// ---- files: CSV, session, exports ------------------------------------------------------------------

function download(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], {type}));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function exportText(kind) {
  // What each export button downloads: [file name, text, type]. Every byte comes from the server.
  if (kind === "csv") return ["points.csv", (await api("/api/points.csv")).csv, "text/csv"];
  if (kind === "model") return ["model.json", JSON.stringify(await api("/api/model"), null, 1), "application/json"];
  if (kind === "torch") return ["playground_model.py", (await api("/api/torch")).script, "text/x-python"];
  return ["playground-session.json", JSON.stringify(await api("/api/save")), "application/json"];
}

async function exportFile(kind) {
  try {
    download(...await exportText(kind));
  } catch (error) {
    message(error.message);
  }
}

async function readFile(input, limit, send) {
  const file = input.files[0];
  input.value = "";  // the same file may be chosen again
  if (!file) return;
  if (file.size > limit) return message(`${file.name} is over ${limit} bytes`);
  pause();
  await send(await file.text(), file.name);
}

function loadSession(text, name) {
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return message(`${name} is not JSON: ${error.message}`);
  }
  dropGraph();
  return call("/api/restore", {document});
}

// ---- the state in the URL --------------------------------------------------------------------------

const LIST_SETTINGS = ["hidden", "activations", "features"];

function stateURL(classroom) {
  // The settings and seed (and the user's own points) as the URL's fragment: opening it gives the same run.
  const fields = new URLSearchParams();
  for (const [name, value] of Object.entries(state.settings)) fields.set(name, Array.isArray(value) ? value.join(",") : value);
  if (state.data.own) fields.set("points", JSON.stringify(pointRows()));
  if (classroom) fields.set("classroom", "1");
  return `${location.origin}${location.pathname}#${fields}`;
}

function readStateURL() {
  // The fragment's settings and points, as the server's /api/session takes them (it checks them).
  const fields = new URLSearchParams(location.hash.slice(1)), settings = {};
  let points = null;
  for (const [name, text] of fields) {
    if (name === "classroom") continue;
    if (name === "points") points = JSON.parse(text);
    else if (LIST_SETTINGS.includes(name)) settings[name] = text ? text.split(",").map((v) => (name === "hidden" ? Number(v) : v)) : [];
    else settings[name] = text !== "" && !Number.isNaN(Number(text)) ? Number(text) : text;
  }
  return {settings, points, classroom: fields.get("classroom") === "1"};
}

function updateLinks() {
  const key = JSON.stringify([state.settings, state.dataVersion]);
  if (key === state.linkKey) return;
  state.linkKey = key;
  $("share-link").value = stateURL(false);
  $("classroom-link").value = stateURL(true);
  history.replaceState(null, "", document.body.classList.contains("classroom") ? $("classroom-link").value : $("share-link").value);
}

// ---- a point's graph and the backprop stepper ---------------------------------------------------

function nearestPoint(event) {
  const rect = $("output-points").getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  let best = null, bestDistance = 100;  // within 10 pixels
  for (const part of state.showTest ? ["train", "test"] : ["train"]) {
    state.data[part].forEach((point, index) => {
      const [x, y] = toPixel(point);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d < bestDistance) { best = {part, index}; bestDistance = d; }
    });
  }
  return best;
}

async function openGraph(selected, neuron = null) {
  // Opens readable (see fitGraph); after a neuron is opened or closed, with that neuron in the middle.
  state.selected = selected;
  drawPoints();
  closeStepper();
  while (state.busy) await new Promise((resolve) => setTimeout(resolve, 5));
  state.busy = true;
  try {
    state.graph = await api("/api/graph", graphRequest());
    drawGraph();
    if (neuron) centreOn(neuron);
    else fitGraph(true);
  } catch (error) {
    message(error.message);
  } finally {
    state.busy = false;
  }
}

function graphRequest() {
  return {...state.selected, view: state.view, expanded: state.view === "neurons" ? state.expanded : []};
}

function toggleNeuron(name) {
  // Click a neuron's box to draw it as its scalars; click one of those to draw it as one box again.
  const open = state.expanded.includes(name);
  state.expanded = open ? state.expanded.filter((n) => n !== name) : [...state.expanded, name];
  openGraph(state.selected, name);
}

function dropGraph() {
  state.expanded = [];
  state.selected = null;
  state.graph = null;
  closeStepper();
  $("graph").innerHTML = "";
  $("graph-title").textContent = "Click a point to see its computation graph.";
  drawPoints();
}

function drawGraph() {
  const graph = state.graph, svg = $("graph"), {at} = graph.layout;
  svg.innerHTML = "";
  const [x, y] = graph.x;
  $("graph-title").textContent = `${graph.part} point ${graph.index} at (${fmt(x)}, ${fmt(y)}), class ${graph.label}:`;
  const scene = document.createElementNS(SVG, "g");
  scene.id = "scene";
  svg.append(scene);
  const size = (box) => graph.layout.sizes[box.kind];  // [width, height], as Graphviz placed them
  for (const box of graph.boxes) {
    const [x2, y2] = at[box.key], [w2] = size(box);
    for (const source of box.inputs) {
      const [x1, y1] = at[source], [w1] = size(graph.boxes.find((b) => b.key === source));
      const path = document.createElementNS(SVG, "path");
      const a = x1 + w1 / 2, b = x2 - w2 / 2, middle = (a + b) / 2;
      path.setAttribute("d", `M${a},${y1} C${middle},${y1} ${middle},${y2} ${b},${y2}`);
      path.setAttribute("class", "edge");
      scene.append(path);
    }
  }
  for (const box of graph.boxes) {
    const [cx, cy] = at[box.key], [w, h] = size(box);
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", `box ${box.kind}`);
    g.setAttribute("transform", `translate(${cx - w / 2},${cy - h / 2})`);
    g.dataset.key = box.key;
    if (state.view === "neurons" && box.neuron) {
      g.addEventListener("click", () => { if (!moved) toggleNeuron(box.neuron); });
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = box.kind === "neuron" ? "click: draw its scalars" : `click: draw ${box.neuron} as one box again`;
      g.append(tip);
    }
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("width", w);
    rect.setAttribute("height", h);
    rect.setAttribute("rx", box.kind === "neuron" ? 6 : 2);
    g.append(rect);
    const title = box.label ? (box.op && !box.label.includes(box.op) ? `${box.label} ${box.op}` : box.label) : box.op || "constant";
    const lines = [[title, "title"], ["", "data"], ["", "grad"]];
    lines.forEach(([text, role], n) => {
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("x", 5);
      t.setAttribute("y", 14 + n * (h - 10) / 3);
      t.setAttribute("class", role);
      t.textContent = text;
      g.append(t);
    });
    scene.append(g);
  }
  setBoxNumbers(graph.boxes, true);
  $("stepper-text").innerHTML = "<p>Press &#9654; to step through the forward pass, then backward() one node at a time.</p>";
}

function setBoxNumbers(boxes, grads) {
  for (const box of boxes) setBox(box.key, box.data, grads ? box.grad : null);
}

function setBox(key, data, grad) {
  const g = document.querySelector(`#graph g.box[data-key="${CSS.escape(key)}"]`);
  if (!g) return;
  const [, dataText, gradText] = g.querySelectorAll("text");
  if (data === undefined) return;
  g.dataset.data = data === null ? "" : data;
  dataText.textContent = data === null ? "data ?" : `data ${fmt(data)}`;
  g.dataset.grad = grad === null ? "" : grad;
  gradText.textContent = grad === null ? "grad ?" : `grad ${fmt(grad)}`;
  dataText.classList.toggle("unknown", data === null);
  gradText.classList.toggle("unknown", grad === null);
}

function updateGraphNumbers(graph) {
  const shown = state.graph;  // the numbers of the same drawing only: same model, view and open neurons
  if (graph.model_version !== shown.model_version || graph.view !== shown.view) return;
  if (JSON.stringify(graph.expanded) !== JSON.stringify(shown.expanded)) return;
  Object.assign(shown, {boxes: graph.boxes, steps: graph.steps, steps_match_backward: graph.steps_match_backward});
  if (state.stepper === null) setBoxNumbers(graph.boxes, true);
}

// Pan and zoom: the scene's transform. Opens fitted when the graph is small enough to read
// fitted, else at a readable scale with the output end (the loss, on the right) in view.
const view = {scale: 1, x: 0, y: 0};
let moved = false;  // whether the mouse dragged the graph since it was pressed (then it is no click)
const READABLE = 0.8;  // the smallest scale at which the boxes' text reads well

function applyView() {
  const scene = $("scene");
  if (scene) scene.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.scale})`);
}

function fitGraph(readable) {
  if (!state.graph) return;
  const {width, height} = state.graph.layout, panel = $("graph").getBoundingClientRect();
  const margin = 10, fit = Math.min((panel.width - 2 * margin) / width, (panel.height - 2 * margin) / height, 1.2);
  if (!readable || fit >= READABLE) {
    view.scale = fit;
    view.x = (panel.width - width * fit) / 2;
    view.y = (panel.height - height * fit) / 2;
  } else {
    const [rx, ry] = state.graph.layout.at[state.graph.boxes[state.graph.boxes.length - 1].key];
    view.scale = READABLE;
    view.x = panel.width - margin - (rx + 70) * READABLE;
    view.y = panel.height / 2 - ry * READABLE;
  }
  applyView();
}

function centreOn(neuron) {
  // The neuron's box, or its output node when it is drawn as scalars, in the middle of the panel.
  const graph = state.graph, panel = $("graph").getBoundingClientRect();
  const box = graph.boxes.find((b) => b.key === neuron || (b.label === neuron && b.op));
  const [x, y] = graph.layout.at[box.key];
  view.scale = Math.max(view.scale, READABLE);
  view.x = panel.width / 2 - x * view.scale;
  view.y = panel.height / 2 - y * view.scale;
  applyView();
}

function setUpPanZoom() {
  const svg = $("graph");
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = svg.getBoundingClientRect(), px = event.clientX - rect.left, py = event.clientY - rect.top;
    const factor = event.deltaY < 0 ? 1.15 : 1 / 1.15;
    view.x = px - (px - view.x) * factor;
    view.y = py - (py - view.y) * factor;
    view.scale *= factor;
    applyView();
  }, {passive: false});
  let drag = null;
  svg.addEventListener("mousedown", (event) => {
    drag = [event.clientX - view.x, event.clientY - view.y, event.clientX, event.clientY];
    moved = false;
  });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    moved = moved || Math.abs(event.clientX - drag[2]) + Math.abs(event.clientY - drag[3]) > 4;
    view.x = event.clientX - drag[0];
    view.y = event.clientY - drag[1];
    applyView();
  });
  window.addEventListener("mouseup", () => { drag = null; });
}

// The stepper: positions 1..F show the forward pass one computed box at a time, F+1..F+B the
// backward pass one node at a time, in the order backward() takes (the server's list of steps).
function forwardBoxes() { return state.graph.boxes.filter((box) => box.op); }

function stepperLength() { return forwardBoxes().length + state.graph.steps.length; }

function closeStepper() {
  state.stepper = null;
  $("stepper-position").textContent = "";
  if (state.graph) setBoxNumbers(state.graph.boxes, true);
  document.querySelectorAll("#graph g.box").forEach((g) => g.classList.remove("current", "touched"));
}

function moveStepper(position) {
  if (!state.graph) return;
  pause();
  state.stepper = Math.max(0, Math.min(position, stepperLength()));
  showStepper();
}

function showStepper() {
  const graph = state.graph, forward = forwardBoxes(), position = state.stepper;
  const shown = {};  // which node each box shows: key -> the node's numbers so far
  const boxOf = (key) => graph.nodes[key] && graph.nodes[key].box;
  const showsNode = (key) => boxOf(key) === key || (graph.nodes[key] && graph.nodes[key].label === boxOf(key));
  graph.boxes.forEach((box, n) => {
    const computed = !box.op || forward.indexOf(box) < position;
    setBox(box.key, computed ? box.data : null, null);
  });
  document.querySelectorAll("#graph g.box").forEach((g) => g.classList.remove("current", "touched"));
  const text = $("stepper-text");
  if (position <= forward.length) {
    const box = forward[position - 1];
    text.innerHTML = position === 0
      ? "<p>Forward pass: the leaves (inputs, weights, constants) hold their data. Press &#9654;.</p>"
      : `<p>Forward: <b>${escape(box.label || box.op)}</b> = ${escape(box.op)}(its inputs) = <span data-role="data">${fmt(box.data)}</span></p>`;
    if (box) mark(box.key, "current");
  } else {
    // backward() starts every grad at 0 and the root's at 1, then adds what each step sends back
    const done = graph.steps.slice(0, position - forward.length);
    graph.boxes.forEach((box, n) => setBox(box.key, box.data, n === graph.boxes.length - 1 ? 1.0 : 0.0));
    for (const step of done) {
      for (const key of graph.products[step.node] || []) {  // a dot drawn as products: each has the dot's grad
        const product = graph.boxes.find((b) => b.key === key);
        if (product) setBox(key, product.data, step.grad);
      }
      for (const input of step.inputs) {
        if (showsNode(input.node)) {
          const box = graph.boxes.find((b) => b.key === boxOf(input.node));
          setBox(box.key, box.data, input.after);
        }
      }
    }
    const step = done[done.length - 1];
    mark(boxOf(step.node), "current");
    step.inputs.forEach((input) => mark(boxOf(input.node), "touched"));
    text.innerHTML = describeStep(step, position - forward.length);
  }
  $("stepper-position").textContent = `${position} / ${stepperLength()}`;
}

function mark(key, kind) {
  const g = document.querySelector(`#graph g.box[data-key="${CSS.escape(key)}"]`);
  if (g) g.classList.add(kind);
}

function describeStep(step, number) {
  const name = (key) => {
    const node = state.graph.nodes[key];
    return escape(node.label || (node.box !== key ? `${node.box}'s ${node.op}` : node.op ? `${node.op} ${key}` : `constant ${key}`));
  };
  let html = `<p>Backward step ${number} of ${state.graph.steps.length}: node <b data-step-node="${escape(step.node)}">${name(step.node)}</b> (${escape(step.op)}),
    its grad <span data-role="grad" data-value="${step.grad}">${fmt(step.grad)}</span>.`;
  if (!step.inputs.length) {
    html += " It is 0: nothing flows back (backward() skips it).</p>";
  } else {
    html += ` Each input gets local derivative &times; this grad, added to what it has:</p>
      <table><tr><th>input</th><th>local</th><th>adds</th><th>grad before</th><th>after</th></tr>`;
    for (const input of step.inputs) {
      const summed = input.use > 1;  // this value's second (or later) use: its grad is a sum
      html += `<tr class="${summed ? "summed" : ""}" data-node="${escape(input.node)}" data-local="${input.local}"
        data-added="${input.added}" data-before="${input.before}" data-after="${input.after}">
        <td>${name(input.node)}</td><td>${fmt(input.local)}</td><td>${fmt(input.added)}</td>
        <td>${fmt(input.before)}</td><td>${fmt(input.after)}${summed ? ` (sum of ${input.use})` : ""}</td></tr>`;
    }
    html += "</table><p class=\"note\">A highlighted row is a value used more than once: its grad is the sum of what each use sends back.</p>";
  }
  if (number === state.graph.steps.length) {
    html += state.graph.steps_match_backward
      ? "<p data-role=\"check\">Done: every grad here is the one backward() left in .grad.</p>"
      : "<p data-role=\"check\">These sums differ from backward()'s .grad: please report this.</p>";
  }
  return html;
}

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

// ---- controls -------------------------------------------------------------------------------------

function fillMenus() {
  const c = state.choices;
  const fill = (id, values, label = String) => {
    $(id).innerHTML = values.map((v) => `<option value="${v}">${label(v)}</option>`).join("");
  };
  fill("dataset", c.dataset);
  fill("activation", c.activation);
  $("activation").insertAdjacentHTML("afterbegin", '<option value="" disabled>(per layer)</option>');
  fill("lr", c.lr);
  fill("regularization", c.regularization);
  fill("reg-rate", c.reg_rate);
  fill("optimizer", c.optimizer);
  $("batch-size").max = c.max_batch;
  $("dataset").onchange = () => { dropGraph(); changeSettings({dataset: $("dataset").value}); };
  $("activation").onchange = () => changeSettings({activations: state.settings.hidden.map(() => $("activation").value)});
  $("regularization").onchange = () => changeSettings({regularization: $("regularization").value});
  $("reg-rate").onchange = () => changeSettings({reg_rate: Number($("reg-rate").value)});
  for (const [id, name] of [["noise", "noise"], ["train-percent", "train_percent"]]) {
    $(id).oninput = () => { $(`${id}-text`).textContent = `${$(id).value}%`; };
    $(id).onchange = () => { dropGraph(); changeSettings({[name]: Number($(id).value)}); };
  }
  $("regenerate").onclick = () => { dropGraph(); changeSettings({seed: Math.floor(Math.random() * 2 ** 31)}); };
  $("export-csv").onclick = () => exportFile("csv");
  $("import-csv").onchange = () => readFile($("import-csv"), 200000, (csv) => { dropGraph(); return call("/api/points", {csv}); });
  $("save-session").onclick = () => exportFile("session");
  $("load-session").onchange = () => readFile($("load-session"), 4 * 1024 * 1024, loadSession);
  $("export-model").onclick = () => exportFile("model");
  $("export-torch").onclick = () => exportFile("torch");
  for (const id of ["share-link", "classroom-link"]) $(id).onfocus = () => $(id).select();
  $("param-set").onclick = setParameter;
  $("param-value").onkeydown = (event) => { if (event.key === "Enter") setParameter(); if (event.key === "Escape") $("param-editor").hidden = true; };
  $("param-cancel").onclick = () => { $("param-editor").hidden = true; };
  $("lr").onchange = () => changeSettings({lr: Number($("lr").value)});
  $("optimizer").onchange = () => changeSettings({optimizer: $("optimizer").value});
  $("batch-size").oninput = () => { $("batch-size-text").textContent = $("batch-size").value; };
  $("batch-size").onchange = () => changeSettings({batch_size: Number($("batch-size").value)});
  $("seed").onchange = () => { dropGraph(); changeSettings({seed: Number($("seed").value)}); };
  $("add-layer").onclick = () => {
    const hidden = state.settings.hidden;
    if (hidden.length < c.max_layers) changeSettings({hidden: [...hidden, 2]});
  };
  $("remove-layer").onclick = () => {
    const hidden = state.settings.hidden;
    if (hidden.length) changeSettings({hidden: hidden.slice(0, -1)});
  };
  $("show-test").onchange = () => { state.showTest = $("show-test").checked; drawPoints(); };
  $("discretize").onchange = () => drawHeatmaps();
}

async function start() {
  let asked = {settings: {}, points: null, classroom: false}, answer;
  try {
    asked = readStateURL();
  } catch (error) {
    message(`the link's points are not JSON: ${error.message}`);
  }
  document.body.classList.toggle("classroom", asked.classroom);
  try {
    answer = await api("/api/session", {settings: asked.settings, points: asked.points});
  } catch (error) {  // a link the server refuses: say why, and start from the defaults
    if (error.status !== 400) throw error;
    answer = await api("/api/session", {});
    message(`this link could not be used: ${error.message}`);
  }
  state.session = answer.session;
  state.choices = answer.choices;
  fillMenus();
  show(answer.frame);
  $("play").onclick = () => (state.playing ? pause() : play());
  $("step").onclick = () => { pause(); closeStepper(); call("/api/train", {steps: 1}); };
  $("reset").onclick = async () => { pause(); await call("/api/reset", {}); dropGraph(); };
  $("output-points").onclick = (event) => {
    if ($("edit-points").checked) return editPoints(event);
    const point = nearestPoint(event);
    if (point) openGraph(point);
  };
  document.querySelectorAll("input[name=view]").forEach((radio) => {
    radio.onchange = () => { state.view = radio.value; if (state.selected) openGraph(state.selected); };
  });
  $("fit").onclick = () => fitGraph(false);
  $("to-output").onclick = () => fitGraph(true);
  $("stepper-start").onclick = () => moveStepper(0);
  $("stepper-back").onclick = () => moveStepper((state.stepper ?? 1) - 1);
  $("stepper-next").onclick = () => moveStepper(state.stepper === null ? 1 : state.stepper + 1);
  $("stepper-end").onclick = () => moveStepper(Infinity);
  document.addEventListener("keydown", (event) => {
    if (event.key === " " && event.target === document.body) { event.preventDefault(); state.playing ? pause() : play(); }
  });
  setUpPanZoom();
  window.addEventListener("resize", () => { if (state.frame) drawLinks(); });
  // A link pasted into this tab changes only the fragment: start again from it (the page's own
  // updates of the fragment use replaceState, which fires no hashchange).
  window.addEventListener("hashchange", () => location.reload());
  // Say goodbye when the tab goes, so the server drops this session at once; not when the browser
  // keeps the page for Back (persisted): coming back to it, start afresh from the link, as the
  // server may have dropped the idle session meanwhile (the reload says goodbye for it).
  window.addEventListener("pagehide", (event) => {
    if (event.persisted) return;
    fetch("/api/close", {method: "POST", keepalive: true, headers: {"Content-Type": "application/json"},
      body: JSON.stringify({session: state.session})});
  });
  window.addEventListener("pageshow", (event) => { if (event.persisted) location.reload(); });
}

start().catch((error) => message(`could not start: ${error.message}`));
