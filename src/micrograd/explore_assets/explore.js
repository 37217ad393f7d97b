// The interactive training page of micrograd (micrograd.explore writes it).
//
// Every number shown was computed in Python by micrograd's engine, one set per optimisation step,
// and written as the text micrograd.viz.format_number gives; this script only unpacks the texts,
// puts them in place and draws. No op of the graph is evaluated here.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("explore-config").textContent);
  const STATES = config.states;
  const LAST = STATES - 1;
  const POINTS = config.points;
  const GRID = config.grid;

  // ---- The recorded data ----------------------------------------------------------------------

  // The numbers' texts, one fixed width each, then the decision regions' bytes, zlib-compressed.
  async function unpack() {
    if (typeof DecompressionStream !== "function") {
      throw new Error(
        "This browser cannot unpack the page's data: it lacks DecompressionStream " +
          "(Chrome/Edge 80+, Firefox 113+, Safari 16.4+ have it)."
      );
    }
    const binary = atob(document.getElementById("explore-data").textContent.trim());
    const packed = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) packed[i] = binary.charCodeAt(i);
    const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("deflate"));
    const raw = new Uint8Array(await new Response(stream).arrayBuffer());
    const textBytes = config.text_count * config.text_width;
    if (raw.length !== textBytes + config.byte_count) {
      throw new Error("The page's data is damaged: " + raw.length + " bytes where " + (textBytes + config.byte_count) + " belong.");
    }
    return { texts: raw.subarray(0, textBytes), bytes: raw.subarray(textBytes) };
  }

  let texts = null;
  let bytes = null;

  // The i-th number as Python's micrograd.viz.format_number wrote it.
  function text(i) {
    const start = i * config.text_width;
    return String.fromCharCode.apply(null, texts.subarray(start, start + config.text_width)).trimStart();
  }

  // Where a node's number for (step, point) is; Python stored each once per what it depends on.
  function nodeText(index, node, step, point) {
    const [kind, first] = index[node];
    if (kind === "c") return text(first);
    if (kind === "s") return text(first + step);
    if (kind === "p") return text(first + point);
    return text(first + point * STATES + step);
  }

  // ---- State and controls ------------------------------------------------------------------------

  let step = 0;
  let point = config.first_point;
  let timer = null;

  const $ = (id) => document.getElementById(id);

  function show(newStep, newPoint = point) {
    step = Math.max(0, Math.min(LAST, newStep));
    point = newPoint;
    render();
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    $("play").textContent = "Play";
  }

  function play() {
    if (timer !== null) clearInterval(timer);
    if (step >= LAST) show(0);
    timer = setInterval(() => {
      show(step + 1);
      if (step >= LAST) pause();
    }, 1000 / Number($("speed").value));
    $("play").textContent = "Pause";
  }

  function wireControls() {
    $("reset").addEventListener("click", () => { pause(); show(0); });
    $("back").addEventListener("click", () => { pause(); show(step - 1); });
    $("step").addEventListener("click", () => { pause(); show(step + 1); });
    $("play").addEventListener("click", () => (timer === null ? play() : pause()));
    $("speed").addEventListener("change", () => { if (timer !== null) play(); });
    const scrub = $("scrub");
    scrub.max = String(LAST);
    scrub.addEventListener("input", () => { pause(); show(Number(scrub.value)); });
    document.addEventListener("keydown", (event) => {
      const tag = event.target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (tag === "BUTTON" && (event.key === " " || event.key === "Enter")) return; // the button's own click
      const actions = {
        ArrowRight: () => { pause(); show(step + 1); },
        ArrowLeft: () => { pause(); show(step - 1); },
        Home: () => { pause(); show(0); },
        " ": () => (timer === null ? play() : pause()),
      };
      if (actions[event.key]) {
        event.preventDefault();
        actions[event.key]();
      }
    });
  }

  // ---- Canvases ---------------------------------------------------------------------------------

  // A canvas drawn at the screen's pixel density, in CSS pixels.
  function prepare(canvas) {
    const width = Number(canvas.getAttribute("width"));
    const height = Number(canvas.getAttribute("height"));
    const ratio = window.devicePixelRatio || 1;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { canvas, context, width, height };
  }

  function rgb(hex) {
    return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }

  const plot = { width: 400, height: 400 };
  const regionImage = document.createElement("canvas");

  function toPlot(x, y) {
    const [lowX, highX, lowY, highY] = config.bounds;
    return [((x - lowX) / (highX - lowX)) * plot.width, ((highY - y) / (highY - lowY)) * plot.height];
  }

  function drawPlot() {
    const { context, width, height } = plot;
    const cells = GRID * GRID;
    const image = regionImage.getContext("2d").createImageData(GRID, GRID);
    const colors = config.colors.map(rgb);
    const regions = config.regions + step * cells;
    const confidence = config.confidence + step * cells;
    for (let c = 0; c < cells; c++) {
      const color = colors[bytes[regions + c]];
      const strength = 0.08 + 0.37 * (bytes[confidence + c] / 255);
      for (let k = 0; k < 3; k++) image.data[4 * c + k] = Math.round(255 + (color[k] - 255) * strength);
      image.data[4 * c + 3] = 255;
    }
    regionImage.getContext("2d").putImageData(image, 0, 0);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(regionImage, 0, 0, width, height);
    for (let i = 0; i < POINTS; i++) {
      const [px, py] = toPlot(config.X[i][0], config.X[i][1]);
      context.beginPath();
      context.arc(px, py, 4.5, 0, 2 * Math.PI);
      context.fillStyle = config.colors[config.y[i]];
      context.fill();
      context.lineWidth = 0.8;
      context.strokeStyle = "#222";
      context.stroke();
    }
    const [px, py] = toPlot(config.X[point][0], config.X[point][1]);
    context.beginPath();
    context.arc(px, py, 9, 0, 2 * Math.PI);
    context.lineWidth = 2.5;
    context.strokeStyle = "#000";
    context.stroke();
  }

  // Offset of point i from the plot's centre, in CSS pixels (where a click chooses it).
  function pointOffset(i) {
    const [px, py] = toPlot(config.X[i][0], config.X[i][1]);
    return [px - plot.width / 2, py - plot.height / 2];
  }

  function nearestPoint(event) {
    const box = plot.canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * plot.width;
    const y = ((event.clientY - box.top) / box.height) * plot.height;
    let best = -1;
    let bestDistance = 12 * 12; // a click further than 12 pixels from every point chooses none
    for (let i = 0; i < POINTS; i++) {
      const [px, py] = toPlot(config.X[i][0], config.X[i][1]);
      const distance = (px - x) ** 2 + (py - y) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [i, distance];
    }
    return best;
  }

  const curve = { width: 400, height: 170, left: 64, right: 12, top: 10, bottom: 26 };

  function curveGeometry() {
    const losses = config.loss;
    const logScale = losses.every((v) => v > 0);
    const scale = logScale ? Math.log10 : (v) => v;
    const low = Math.min(...losses.map(scale));
    const high = Math.max(...losses.map(scale));
    const span = high - low || 1;
    const plotWidth = curve.width - curve.left - curve.right;
    const plotHeight = curve.height - curve.top - curve.bottom;
    const x = (s) => curve.left + (LAST ? (s / LAST) * plotWidth : plotWidth / 2);
    const y = (v) => curve.top + (1 - (scale(v) - low) / span) * plotHeight;
    return { losses, logScale, x, y, plotWidth, plotHeight };
  }

  function drawCurve() {
    const { context, width, height } = curve;
    const { losses, logScale, x, y, plotHeight } = curve.geometry;
    context.clearRect(0, 0, width, height);
    context.strokeStyle = "#999";
    context.lineWidth = 1;
    context.strokeRect(curve.left, curve.top, width - curve.left - curve.right, plotHeight);
    context.fillStyle = "#333";
    context.font = "11px sans-serif";
    context.textAlign = "right";
    const [highText, lowText] = config.loss_range_text;
    context.fillText(highText, curve.left - 4, y(Math.max(...losses)) + 4);
    context.fillText(lowText, curve.left - 4, y(Math.min(...losses)) + 4);
    context.textAlign = "center";
    context.fillText("0", x(0), height - 8);
    context.fillText(String(LAST), x(LAST), height - 8);
    context.fillText(logScale ? "step (loss on a log scale)" : "step", curve.left + (width - curve.left - curve.right) / 2, height - 8);
    context.beginPath();
    losses.forEach((v, s) => (s ? context.lineTo(x(s), y(v)) : context.moveTo(x(s), y(v))));
    context.strokeStyle = "#1f77b4";
    context.lineWidth = 1.5;
    context.stroke();
    context.beginPath();
    context.moveTo(x(step), curve.top);
    context.lineTo(x(step), curve.top + plotHeight);
    context.strokeStyle = "rgba(0,0,0,0.35)";
    context.lineWidth = 1;
    context.stroke();
    context.beginPath();
    context.arc(x(step), y(losses[step]), 4, 0, 2 * Math.PI);
    context.fillStyle = "#d62728";
    context.fill();
  }

  function stepAt(event) {
    const box = curve.canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * curve.width;
    return Math.round(((x - curve.left) / curve.geometry.plotWidth) * LAST);
  }

  // ---- The graph --------------------------------------------------------------------------------

  const records = []; // per node: its data text, grad text and box in the SVG
  let zoom = 1;
  let svg = null;
  let natural = null;

  function indexGraph() {
    svg = document.querySelector("#graph svg");
    for (const group of svg.querySelectorAll("g.node")) {
      const match = /^n(\d+)$/.exec(group.querySelector("title").textContent);
      if (!match) continue; // an op's small node
      const record = { box: group.querySelector("polygon") };
      for (const text of group.querySelectorAll("text")) {
        if (text.textContent.startsWith("data ")) record.data = text;
        else if (text.textContent.startsWith("grad ")) record.grad = text;
      }
      record.data.setAttribute("data-field", "data");
      record.grad.setAttribute("data-field", "grad");
      group.setAttribute("data-node", match[1]);
      records[Number(match[1])] = record;
    }
    if (records.length !== config.nodes) throw new Error("The graph has " + records.length + " nodes, the data " + config.nodes + ".");
    const box = svg.viewBox.baseVal;
    natural = { width: box.width, height: box.height };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
  }

  // Zoom about the middle of the panel, so that what is in view stays in view.
  function setZoom(value) {
    const panel = $("graph");
    const middleX = (panel.scrollLeft + panel.clientWidth / 2) / zoom;
    const middleY = (panel.scrollTop + panel.clientHeight / 2) / zoom;
    zoom = Math.max(0.1, Math.min(3, value));
    svg.style.width = natural.width * zoom + "px";
    svg.style.height = natural.height * zoom + "px";
    panel.scrollLeft = middleX * zoom - panel.clientWidth / 2;
    panel.scrollTop = middleY * zoom - panel.clientHeight / 2;
  }

  function fitZoom() {
    const panel = $("graph");
    return Math.min((panel.clientWidth - 8) / natural.width, (panel.clientHeight - 8) / natural.height);
  }

  // Scroll the graph so that an element sits in the middle of its panel.
  function centreOn(element) {
    const panel = $("graph");
    const box = element.getBoundingClientRect();
    const panelBox = panel.getBoundingClientRect();
    panel.scrollLeft += box.left + box.width / 2 - panelBox.left - panel.clientWidth / 2;
    panel.scrollTop += box.top + box.height / 2 - panelBox.top - panel.clientHeight / 2;
  }

  function wireGraph() {
    $("zoom-in").addEventListener("click", () => setZoom(zoom * 1.25));
    $("zoom-out").addEventListener("click", () => setZoom(zoom / 1.25));
    $("zoom-fit").addEventListener("click", () => setZoom(fitZoom()));
    // drag to pan
    const panel = $("graph");
    let drag = null;
    panel.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, left: panel.scrollLeft, top: panel.scrollTop };
      panel.classList.add("dragging");
    });
    window.addEventListener("pointermove", (event) => {
      if (!drag) return;
      panel.scrollLeft = drag.left - (event.clientX - drag.x);
      panel.scrollTop = drag.top - (event.clientY - drag.y);
    });
    window.addEventListener("pointerup", () => {
      drag = null;
      panel.classList.remove("dragging");
    });
  }

  function drawGraph() {
    const gradTexts = records.map((_, node) => nodeText(config.node_grad, node, step, point));
    // Shading only (green where the loss grows with the node, red where it shrinks), from the
    // shown texts: no number is computed here.
    const grads = gradTexts.map(Number);
    const largest = Math.max(0, ...grads.map(Math.abs));
    records.forEach((record, node) => {
      const grad = grads[node];
      record.data.textContent = "data " + nodeText(config.node_data, node, step, point);
      record.grad.textContent = "grad " + gradTexts[node];
      if (grad === 0) {
        record.box.setAttribute("fill", "none");
      } else {
        record.box.setAttribute("fill", grad > 0 ? "#2ca02c" : "#d62728");
        record.box.setAttribute("fill-opacity", String(0.06 + 0.4 * Math.sqrt(Math.abs(grad) / largest)));
      }
    });
  }

  // ---- Everything at once -----------------------------------------------------------------------

  function render() {
    $("step-number").textContent = String(step);
    $("scrub").value = String(step);
    $("loss").textContent = config.loss_text[step];
    $("accuracy").textContent = config.accuracy_text[step];
    $("lr").textContent = config.lr_text[step];
    $("step").disabled = step >= LAST;
    $("back").disabled = step <= 0;
    $("point-name").textContent = "point " + point + " (class " + config.y[point] + ")";
    const [x0, x1] = config.inputs.map((node) => nodeText(config.node_data, node, step, point));
    $("point-info").textContent =
      "x = (" + x0 + ", " + x1 + "), its " + config.loss_name +
      " loss " + nodeText(config.node_data, 0, step, point) + " at step " + step + " (its own term of the mean, without L2). " +
      "Shading: green where grad > 0, red where grad < 0, stronger for larger |grad|.";
    drawPlot();
    drawCurve();
    drawGraph();
  }

  async function start() {
    $("about").textContent = config.about;
    $("step-count").textContent = String(LAST);
    $("curve-caption").textContent =
      "Training loss per step (" + config.loss_name + (config.l2 ? " + L2" : "") + ", mean over all " + POINTS +
      " points); click to jump to a step.";
    ({ texts, bytes } = await unpack());
    regionImage.width = GRID;
    regionImage.height = GRID;
    Object.assign(plot, prepare($("plot")));
    Object.assign(curve, prepare($("curve")));
    curve.geometry = curveGeometry();
    plot.canvas.addEventListener("click", (event) => {
      const chosen = nearestPoint(event);
      if (chosen >= 0) show(step, chosen);
    });
    curve.canvas.addEventListener("click", (event) => { pause(); show(stepAt(event)); });
    indexGraph();
    wireControls();
    wireGraph();
    render();
    setZoom(0.6); // numbers still readable; 'fit' shows the whole graph
    centreOn(records[config.focus].box);
    $("graph").scrollLeft = $("graph").scrollWidth; // the output end in view: the score, then the loss on the right
    document.body.setAttribute("data-ready", "true");
  }

  window.micrograd = {
    pointOffset,
    state: () => ({ step, point, playing: timer !== null }),
  };

  start().catch((error) => {
    const box = $("error");
    box.textContent = "The page could not start: " + error.message;
    box.hidden = false;
    document.body.setAttribute("data-ready", "error");
    throw error;
  });
})();
