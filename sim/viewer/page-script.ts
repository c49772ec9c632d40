// The trace viewer's browser script, inlined into the HTML page. It is plain JavaScript in a
// string because the project's TypeScript has no DOM types; it reads the ViewerData columns
// (sim/viewer/model.ts) from the page's JSON block and draws them on a canvas:
// - lanes (one per node/actor, grouped by node) as rows, time (virtual ms or Lamport clock)
//   across, only the events in view (a binary search in each visible lane's sorted events);
// - filters make a per-event mask; lanes without a shown event are left out;
// - a click finds the nearest shown event in the lane under the pointer.
// It exposes window.logmeshViewer for tests and benchmarks. No backticks or dollar-brace
// sequences below: the string is a template literal.
export const viewerScript = String.raw`
/** One of the page's data blocks: gzip-compressed JSON in base64 (a tenth of the size; the browser inflates it natively). */
async function inflateJson(elementId) {
  const binary = atob(document.getElementById(elementId).textContent.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(inflated).text());
}

(async () => {
  'use strict';
  const scriptStart = performance.now();
  const data = await inflateJson('logmesh-data');
  const parsedAt = performance.now();
  // Payloads and effects are most of the bytes: inflated after the first draw.
  let payloads = null;
  let effects = null;
  const S = data.strings;
  const n = data.t.length;
  const time = Float64Array.from(data.t);
  const lamport = Float64Array.from(data.lamport);
  const laneOf = Int32Array.from(data.lane);
  const kindOf = Int32Array.from(data.kind);
  const parentOf = Int32Array.from(data.parent);
  const stateOf = Int32Array.from(data.state);
  const lanes = data.lanes;
  const laneCount = lanes.length;

  /** Pixel sizes of the layout; lanes grow up to laneHeightMaxPx when few are shown. */
  const laneHeightMinPx = 16;
  const laneHeightMaxPx = 44;
  let laneHeightPx = laneHeightMinPx;
  const gutterNodePx = 44;
  const gutterPx = 200;
  const axisPx = 24;
  const hitTolerancePx = 6;
  const arrowheadsMax = 4000;
  /** More arrows than this in view would be a grey wall: they are left out until a zoom or a filter thins them. */
  const arrowsDrawnMax = 10000;
  let arrowsHidden = 0;
  /** The details panel links to this many of the events an event caused. */
  const causedShownMax = 8;

  // Per-lane event indexes, in trace order: sorted by virtual time and by Lamport clock alike.
  const laneSizes = new Int32Array(laneCount);
  for (let i = 0; i < n; i++) laneSizes[laneOf[i]]++;
  const laneEvents = Array.from(lanes, (_, l) => new Int32Array(laneSizes[l]));
  const laneFill = new Int32Array(laneCount);
  for (let i = 0; i < n; i++) { const l = laneOf[i]; laneEvents[l][laneFill[l]++] = i; }
  const laneKey = (l) => lanes[l].node + '/' + lanes[l].actor;

  // Colors by kind: faults red, lifecycle grey, requests blue, responses green, timers and
  // storage completions purple, anything else from a small palette by name.
  const palette = ['#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#ff7f0e'];
  const colorOfString = new Map();
  function kindColor(kind) {
    let color = colorOfString.get(kind);
    if (color !== undefined) return color;
    if (kind.startsWith('@fault:')) color = /restart|healed|heal-all/.test(kind) ? '#2e9d4a' : '#d62728';
    else if (kind.startsWith('@')) color = '#999999';
    else if (kind.endsWith('Request')) color = '#1f77b4';
    else if (kind.endsWith('Response')) color = '#2ca02c';
    else if (/(Fired|Expired|Completed)$/.test(kind)) color = '#9467bd';
    else {
      let hash = 0;
      for (let c = 0; c < kind.length; c++) hash = (hash * 31 + kind.charCodeAt(c)) | 0;
      color = palette[Math.abs(hash) % palette.length];
    }
    colorOfString.set(kind, color);
    return color;
  }
  const eventColor = (i) => kindColor(S[kindOf[i]]);

  // Partitions: replica actor id -> topic, from the page data (partitionActorId's inverse).
  const partitionByActor = new Map(data.partitions.map((p) => [p.actor, p]));
  const clusterNodes = data.header.nodes;

  const el = (id) => document.getElementById(id);
  const canvas = el('diagram');
  const ctx = canvas.getContext('2d');
  const wrap = el('diagram-wrap');

  // --- Filters -------------------------------------------------------------------------
  let filter = { actor: null, partition: null, kind: null, fromMs: null, toMs: null };
  const shown = new Uint8Array(n);
  let shownCount = 0;
  let visibleLanes = [];
  const laneRow = new Int32Array(laneCount).fill(-1);
  let stringIndex = null;

  function indexOfString(text) {
    if (stringIndex === null) { stringIndex = new Map(); S.forEach((s, i) => stringIndex.set(s, i)); }
    const i = stringIndex.get(text);
    return i === undefined ? -2 : i;
  }

  function lanePasses(l) {
    const lane = lanes[l];
    if (filter.actor !== null) {
      if (filter.actor.includes('/')) { if (laneKey(l) !== filter.actor) return false; }
      else if (lane.actor !== filter.actor) return false;
    }
    if (filter.partition !== null) {
      const p = partitionByActor.get(lane.actor);
      if (p === undefined || lane.node < 1 || lane.node > clusterNodes) return false;
      if (filter.partition.startsWith('topic:')) { if (p.topic !== filter.partition.slice(6)) return false; }
      else if (p.actor !== filter.partition) return false;
    }
    return true;
  }

  function applyFilter() {
    const lanePass = new Uint8Array(laneCount);
    for (let l = 0; l < laneCount; l++) lanePass[l] = lanePasses(l) ? 1 : 0;
    const kind = filter.kind === null ? -1 : indexOfString(filter.kind);
    const from = filter.fromMs === null ? -Infinity : filter.fromMs;
    const to = filter.toMs === null ? Infinity : filter.toMs;
    const laneShown = new Int32Array(laneCount);
    shownCount = 0;
    for (let i = 0; i < n; i++) {
      const ok = lanePass[laneOf[i]] === 1 && (kind === -1 || kindOf[i] === kind) && time[i] >= from && time[i] <= to;
      shown[i] = ok ? 1 : 0;
      if (ok) { shownCount++; laneShown[laneOf[i]]++; }
    }
    visibleLanes = [];
    laneRow.fill(-1);
    for (let l = 0; l < laneCount; l++) {
      if (laneShown[l] > 0) { laneRow[l] = visibleLanes.length; visibleLanes.push(l); }
    }
    if (selected >= 0 && !shown[selected]) selected = -1;
    el('count').textContent = shownCount.toLocaleString('en-US') + ' of ' + n.toLocaleString('en-US') + ' events shown';
    fitLaneHeight();
    clampScroll();
  }

  // --- View: the visible x range (ms or Lamport ticks) and the vertical scroll ----------
  const view = { axis: 'time', x0: 0, x1: 1, scrollY: 0 };
  let selected = -1;
  const xs = () => (view.axis === 'time' ? time : lamport);

  function shownExtent() {
    const x = xs();
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (!shown[i]) continue;
      if (x[i] < lo) lo = x[i];
      if (x[i] > hi) hi = x[i];
    }
    if (lo === Infinity) return [0, 1];
    if (hi - lo < 1e-6) return [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.01;
    return [lo - pad, hi + pad];
  }
  function fitView() { const [a, b] = shownExtent(); view.x0 = a; view.x1 = b; }

  const plotWidth = () => Math.max(1, canvas.clientWidth - gutterPx);
  const plotHeight = () => Math.max(1, canvas.clientHeight - axisPx);
  const toPx = (x) => gutterPx + (x - view.x0) / (view.x1 - view.x0) * plotWidth();
  const toX = (px) => view.x0 + (px - gutterPx) / plotWidth() * (view.x1 - view.x0);
  const rowY = (row) => axisPx + row * laneHeightPx - view.scrollY + laneHeightPx / 2;

  function fitLaneHeight() {
    const fit = Math.floor(plotHeight() / Math.max(1, visibleLanes.length));
    laneHeightPx = Math.max(laneHeightMinPx, Math.min(laneHeightMaxPx, fit));
  }

  function clampScroll() {
    const max = Math.max(0, visibleLanes.length * laneHeightPx - plotHeight());
    view.scrollY = Math.min(Math.max(0, view.scrollY), max);
  }

  /** First k in lane events with x >= value. */
  function lowerBound(events, x, value) {
    let lo = 0;
    let hi = events.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (x[events[mid]] < value) lo = mid + 1; else hi = mid; }
    return lo;
  }

  // --- Drawing ---------------------------------------------------------------------------
  let drawPending = null;
  let lastDrawMs = 0;
  let firstDrawResolve;
  const drawn = new Promise((resolve) => { firstDrawResolve = resolve; });
  const timings = { loadDataMs: parsedAt - scriptStart, indexMs: 0, firstDrawMs: 0, navigationToFirstDrawMs: 0, detailsLoadedMs: 0 };

  function requestDraw() {
    if (drawPending === null) {
      drawPending = new Promise((resolve) => {
        requestAnimationFrame(() => { drawPending = null; draw(); resolve(lastDrawMs); });
      });
    }
    return drawPending;
  }

  function resizeCanvas() {
    const dpr = window.devicePixelRatio || 1;
    const w = wrap.clientWidth;
    const h = wrap.clientHeight;
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    fitLaneHeight();
    clampScroll();
  }

  function visibleRows() {
    const first = Math.max(0, Math.floor(view.scrollY / laneHeightPx));
    const last = Math.min(visibleLanes.length - 1, Math.floor((view.scrollY + plotHeight()) / laneHeightPx));
    return [first, last];
  }

  function draw() {
    const started = performance.now();
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    const x = xs();
    const span = view.x1 - view.x0;
    const [firstRow, lastRow] = visibleRows();
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(gutterPx, axisPx, width - gutterPx, height - axisPx);
    ctx.clip();
    drawNodeStripes(firstRow, lastRow, width);
    drawFaultBands(x, firstRow, lastRow);
    drawArrows(x, firstRow, lastRow, span);
    drawEvents(x, firstRow, lastRow, span);
    drawFaultMarkers(x, height);
    ctx.restore();
    drawGutter(firstRow, lastRow, height);
    drawAxis(width);
    lastDrawMs = performance.now() - started;
    if (timings.firstDrawMs === 0) {
      timings.firstDrawMs = lastDrawMs;
      timings.navigationToFirstDrawMs = performance.now();
      document.body.dataset.ready = '1';
      firstDrawResolve();
    }
  }

  function drawNodeStripes(firstRow, lastRow, width) {
    for (let row = firstRow; row <= lastRow; row++) {
      const node = lanes[visibleLanes[row]].node;
      if (node % 2 === 1) {
        ctx.fillStyle = '#f6f7fb';
        ctx.fillRect(gutterPx, rowY(row) - laneHeightPx / 2, width - gutterPx, laneHeightPx);
      }
      if (row > 0 && lanes[visibleLanes[row - 1]].node !== node) {
        ctx.fillStyle = '#c9ccd6';
        ctx.fillRect(gutterPx, rowY(row) - laneHeightPx / 2, width - gutterPx, 1);
      }
    }
    ctx.strokeStyle = '#e4e6ee';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let row = firstRow; row <= lastRow; row++) {
      const y = Math.round(rowY(row)) + 0.5;
      ctx.moveTo(gutterPx, y);
      ctx.lineTo(width, y);
    }
    ctx.stroke();
  }

  /** Where a fault's band ends on the current axis, or null when the trace does not say. */
  function faultEnd(fault, x) {
    if (fault.endEvent >= 0) return x[fault.endEvent];
    if (fault.kind === 'crash' || fault.kind === 'partition') return view.axis === 'time' ? time[n - 1] : lamport[n - 1];
    if (fault.endT >= 0 && view.axis === 'time') return fault.endT;
    return null;
  }

  function drawFaultBands(x, firstRow, lastRow) {
    for (const fault of data.faults) {
      const end = faultEnd(fault, x);
      if (end === null) continue;
      const a = toPx(x[fault.event]);
      const b = toPx(end);
      if (b < gutterPx || a > canvas.clientWidth) continue;
      if (fault.node === 0) {
        ctx.fillStyle = 'rgba(214, 39, 40, 0.07)';
        ctx.fillRect(a, axisPx, Math.max(1, b - a), plotHeight());
        continue;
      }
      ctx.fillStyle = fault.kind === 'crash' ? 'rgba(214, 39, 40, 0.18)' : 'rgba(255, 127, 14, 0.16)';
      for (let row = firstRow; row <= lastRow; row++) {
        if (lanes[visibleLanes[row]].node !== fault.node) continue;
        ctx.fillRect(a, rowY(row) - laneHeightPx / 2, Math.max(1, b - a), laneHeightPx);
      }
    }
  }

  function drawFaultMarkers(x, height) {
    ctx.font = '10px sans-serif';
    ctx.textBaseline = 'top';
    for (const fault of data.faults) {
      const px = toPx(x[fault.event]);
      if (px < gutterPx || px > canvas.clientWidth) continue;
      const color = kindColor('@fault:' + fault.kind);
      ctx.strokeStyle = color;
      ctx.globalAlpha = 0.55;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(Math.round(px) + 0.5, axisPx);
      ctx.lineTo(Math.round(px) + 0.5, height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
    }
  }

  function drawArrows(x, firstRow, lastRow, span) {
    const scale = plotWidth() / span;
    let count = 0;
    ctx.lineWidth = 1;
    ctx.beginPath();
    const heads = [];
    for (let row = firstRow; row <= lastRow; row++) {
      const lane = visibleLanes[row];
      const events = laneEvents[lane];
      const y = rowY(row);
      const hi = lowerBound(events, x, view.x1 + span * 0.001);
      for (let k = lowerBound(events, x, view.x0); k < hi; k++) {
        const i = events[k];
        const parent = parentOf[i];
        if (!shown[i] || parent < 0) continue;
        const parentLane = laneOf[parent];
        if (parentLane === lane || laneRow[parentLane] < 0) continue;
        const x0 = gutterPx + (x[parent] - view.x0) * scale;
        const y0 = rowY(laneRow[parentLane]);
        const x1 = gutterPx + (x[i] - view.x0) * scale;
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y);
        count++;
        if (heads.length < arrowheadsMax * 4) heads.push(x0, y0, x1, y);
      }
    }
    arrowsHidden = count > arrowsDrawnMax ? count : 0;
    if (arrowsHidden > 0) return;
    // Zoomed out, thousands of arrows would hide the events: the more there are, the fainter.
    ctx.strokeStyle = count > arrowheadsMax ? 'rgba(60, 70, 90, 0.12)' : 'rgba(60, 70, 90, 0.4)';
    ctx.stroke();
    if (count > arrowheadsMax) return;
    ctx.fillStyle = 'rgba(60, 70, 90, 0.6)';
    ctx.beginPath();
    for (let h = 0; h < heads.length; h += 4) {
      const dx = heads[h + 2] - heads[h];
      const dy = heads[h + 3] - heads[h + 1];
      const length = Math.hypot(dx, dy);
      if (length < 8) continue;
      const ux = dx / length;
      const uy = dy / length;
      const tipX = heads[h + 2];
      const tipY = heads[h + 3];
      ctx.moveTo(tipX, tipY);
      ctx.lineTo(tipX - ux * 6 - uy * 3, tipY - uy * 6 + ux * 3);
      ctx.lineTo(tipX - ux * 6 + uy * 3, tipY - uy * 6 - ux * 3);
      ctx.closePath();
    }
    ctx.fill();
  }

  function drawEvents(x, firstRow, lastRow, span) {
    const scale = plotWidth() / span;
    const markHeight = Math.min(laneHeightPx - 6, 18);
    // Tall lanes have room for the state an event moved the actor to, above its mark.
    const labelStates = laneHeightPx >= 28;
    ctx.font = '10px sans-serif';
    ctx.textBaseline = 'bottom';
    let lastColor = '';
    for (let row = firstRow; row <= lastRow; row++) {
      const lane = visibleLanes[row];
      const events = laneEvents[lane];
      const y = rowY(row);
      const hi = lowerBound(events, x, view.x1 + span * 0.001);
      let lastPx = -1;
      let lastKind = -1;
      let lastLabelEnd = -Infinity;
      for (let k = lowerBound(events, x, view.x0 - span * 0.001); k < hi; k++) {
        const i = events[k];
        if (!shown[i]) continue;
        const px = Math.floor(gutterPx + (x[i] - view.x0) * scale);
        // Zoomed out, many events share a pixel: draw one mark per pixel and kind.
        if (px === lastPx && kindOf[i] === lastKind) continue;
        lastPx = px;
        lastKind = kindOf[i];
        const color = eventColor(i);
        if (color !== lastColor) { ctx.fillStyle = color; lastColor = color; }
        const changed = stateOf[i] >= 0 && !S[kindOf[i]].startsWith('@');
        if (changed) ctx.fillRect(px - 1, y - markHeight / 2 - 2, 3, markHeight + 4);
        else ctx.fillRect(px - 1, y - markHeight / 2, 2, markHeight);
        if (changed && labelStates && px > lastLabelEnd) {
          const label = S[stateOf[i]].length > 24 ? S[stateOf[i]].slice(0, 23) + '…' : S[stateOf[i]];
          ctx.fillStyle = '#333a48';
          ctx.fillText(label, px + 3, y - markHeight / 2 - 2);
          lastLabelEnd = px + 6 + ctx.measureText(label).width;
          ctx.fillStyle = lastColor;
        }
      }
    }
    if (selected >= 0 && laneRow[laneOf[selected]] >= 0) {
      const px = toPx(x[selected]);
      const py = rowY(laneRow[laneOf[selected]]);
      ctx.strokeStyle = '#000000';
      ctx.lineWidth = 2;
      ctx.strokeRect(px - 4, py - laneHeightPx / 2, 8, laneHeightPx);
      const parent = parentOf[selected];
      if (parent >= 0 && laneRow[laneOf[parent]] >= 0) {
        ctx.strokeStyle = '#d62728';
        ctx.beginPath();
        ctx.moveTo(toPx(x[parent]), rowY(laneRow[laneOf[parent]]));
        ctx.lineTo(px, py);
        ctx.stroke();
      }
      ctx.lineWidth = 1;
    }
  }

  function drawGutter(firstRow, lastRow, height) {
    ctx.fillStyle = '#fbfbfd';
    ctx.fillRect(0, 0, gutterPx, height);
    ctx.fillStyle = '#c9ccd6';
    ctx.fillRect(gutterPx - 1, 0, 1, height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, axisPx, gutterPx, height - axisPx);
    ctx.clip();
    ctx.textBaseline = 'middle';
    let lastNode = null;
    for (let row = firstRow; row <= lastRow; row++) {
      const lane = visibleLanes[row];
      const node = lanes[lane].node;
      const y = rowY(row);
      if (node !== lastNode || row === firstRow) {
        ctx.font = 'bold 11px sans-serif';
        ctx.fillStyle = '#333a48';
        ctx.fillText(nodeName(node), 4, y);
        if (row > 0 && lanes[visibleLanes[row - 1]].node !== node) {
          ctx.fillStyle = '#c9ccd6';
          ctx.fillRect(0, y - laneHeightPx / 2, gutterPx, 1);
        }
        lastNode = node;
      }
      ctx.font = '11px sans-serif';
      ctx.fillStyle = selected >= 0 && laneOf[selected] === lane ? '#d62728' : '#333a48';
      const label = lanes[lane].actor;
      ctx.fillText(label.length > 26 ? label.slice(0, 25) + '…' : label, gutterNodePx, y);
    }
    ctx.restore();
  }

  function nodeName(node) {
    if (node === 0) return 'sim';
    if (node >= 1000) return 'c' + node;
    return 'n' + node;
  }

  function niceStep(span, pixels) {
    const raw = span / Math.max(1, pixels / 90);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  function formatTick(value, step) {
    if (view.axis === 'lamport') return String(Math.round(value));
    if (step >= 1000) return (value / 1000).toFixed(step >= 10000 ? 0 : 1) + ' s';
    return value.toFixed(step >= 1 ? 0 : 2) + ' ms';
  }

  function drawAxis(width) {
    ctx.fillStyle = '#fbfbfd';
    ctx.fillRect(0, 0, width, axisPx);
    ctx.fillStyle = '#c9ccd6';
    ctx.fillRect(0, axisPx - 1, width, 1);
    ctx.fillStyle = '#333a48';
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillText(view.axis === 'time' ? 'virtual time' : 'Lamport clock', 4, axisPx / 2);
    el('arrows-note').textContent = arrowsHidden > 0 ? arrowsHidden.toLocaleString('en-US') + ' arrows in view, not drawn: zoom in or filter' : '';
    const step = niceStep(view.x1 - view.x0, plotWidth());
    ctx.beginPath();
    for (let v = Math.ceil(view.x0 / step) * step; v <= view.x1; v += step) {
      const px = Math.round(toPx(v)) + 0.5;
      ctx.moveTo(px, axisPx - 6);
      ctx.lineTo(px, axisPx);
      ctx.fillText(formatTick(v, step), px + 3, axisPx / 2 - 2);
    }
    ctx.strokeStyle = '#333a48';
    ctx.stroke();
    // Fault labels on the axis, where there is room.
    ctx.font = '10px sans-serif';
    let lastLabelEnd = -Infinity;
    const x = xs();
    for (const fault of data.faults) {
      const px = toPx(x[fault.event]);
      if (px < gutterPx || px > width || px < lastLabelEnd) continue;
      ctx.fillStyle = kindColor('@fault:' + fault.kind);
      ctx.fillRect(px - 3, axisPx - 8, 6, 6);
      const label = fault.kind;
      ctx.fillText(label, px + 5, axisPx - 6);
      lastLabelEnd = px + 8 + ctx.measureText(label).width;
    }
  }

  // --- Hit-testing and details -----------------------------------------------------------
  function hitTest(px, py) {
    if (px < gutterPx || py < axisPx) return -1;
    const row = Math.floor((py - axisPx + view.scrollY) / laneHeightPx);
    if (row < 0 || row >= visibleLanes.length) return -1;
    const events = laneEvents[visibleLanes[row]];
    const x = xs();
    const scale = plotWidth() / (view.x1 - view.x0);
    const target = toX(px);
    const at = lowerBound(events, x, target);
    let best = -1;
    let bestDistance = hitTolerancePx + 1;
    // Outwards from the pointer, both ways, until the marks are too far to be the one clicked.
    for (const step of [1, -1]) {
      for (let k = step === 1 ? at : at - 1; k >= 0 && k < events.length; k += step) {
        const d = Math.abs(x[events[k]] - target) * scale;
        if (d > hitTolerancePx) break;
        if (shown[events[k]] && d < bestDistance) { best = events[k]; bestDistance = d; }
      }
    }
    return best;
  }

  function text(tag, content, className) {
    const node = document.createElement(tag);
    node.textContent = content;
    if (className !== undefined) node.className = className;
    return node;
  }

  function prettyJson(raw) {
    try { return JSON.stringify(JSON.parse(raw), null, 1); } catch (_) { return raw; }
  }

  function select(i) {
    selected = i;
    const panel = el('details');
    panel.replaceChildren();
    if (i < 0) { panel.append(text('p', 'Click an event to see its line, payload and states.', 'hint')); requestDraw(); return; }
    const lane = lanes[laneOf[i]];
    panel.append(text('h2', S[kindOf[i]], 'kind'));
    const table = document.createElement('table');
    const row = (name, value) => {
      const tr = document.createElement('tr');
      tr.append(text('th', name), text('td', value));
      table.append(tr);
      return tr;
    };
    row('line', String(i + 2));
    row('t', String(time[i]) + ' ms');
    row('node', String(lane.node));
    row('actor', lane.actor);
    if (data.laneMachine[laneOf[i]] !== '') row('machine', data.laneMachine[laneOf[i]]);
    row('kind', S[kindOf[i]]);
    row('id', S[data.id[i]]);
    const parent = parentOf[i];
    const parentText = parent >= 0 ? S[data.id[parent]] + ' (line ' + (parent + 2) + ')' : (data.parentUnresolved[i] !== undefined ? S[data.parentUnresolved[i]] + ' (not in the trace)' : '(none)');
    const parentRow = row('parent', parentText);
    if (parent >= 0) {
      const go = text('button', 'go to', 'link');
      go.addEventListener('click', () => { focusEvent(parent); select(parent); });
      parentRow.lastChild.append(' ', go);
    }
    const caused = [];
    for (let j = i + 1; j < n && caused.length < causedShownMax + 1; j++) if (parentOf[j] === i) caused.push(j);
    if (caused.length > 0) {
      const causedRow = row('caused', '');
      for (const j of caused.slice(0, causedShownMax)) {
        const go = text('button', S[kindOf[j]] + ' @ ' + laneKey(laneOf[j]), 'link');
        go.title = 'line ' + (j + 2);
        go.addEventListener('click', () => { focusEvent(j); select(j); });
        causedRow.lastChild.append(go, ' ');
      }
      if (caused.length > causedShownMax) causedRow.lastChild.append('…');
    }
    if (data.from[i] >= 0) row('from', S[data.from[i]]);
    if (stateOf[i] >= 0) row('state', S[stateOf[i]]);
    row('lamport', String(lamport[i]));
    panel.append(table);
    const before = data.stateBefore[i];
    const after = data.stateAfter[i];
    if (before >= 0 || after >= 0) {
      panel.append(text('h3', 'actor state'));
      panel.append(text('p', (before >= 0 ? S[before] : '(starting)') + ' → ' + (after >= 0 ? S[after] : '(stopped)'), 'states'));
    }
    if (payloads === null) {
      panel.append(text('p', 'Loading payloads…', 'hint'));
    } else if (payloads[i] !== null) {
      panel.append(text('h3', S[kindOf[i]] === '@start' ? 'input' : 'payload'));
      panel.append(text('pre', prettyJson(payloads[i]), 'payload'));
      panel.append(text('h3', 'effects emitted'));
      panel.append(text('pre', prettyJson(effects[i]), 'effects'));
    } else if (!S[kindOf[i]].startsWith('@fault:')) {
      panel.append(text('p', data.divergence !== null && i + 2 >= data.divergence.line
        ? 'No payload: the re-run diverged before this line.'
        : 'No payload: this line is not an actor handling a message (a client or the simulator).', 'hint'));
    }
    requestDraw();
  }

  /** Zooms so that event i is in view (a window of about 40 lanes' worth of neighbours) and scrolls its lane into view. */
  function focusEvent(i) {
    const x = xs();
    const span = Math.min(view.x1 - view.x0, view.axis === 'time' ? 50 : 40);
    view.x0 = x[i] - span / 2;
    view.x1 = x[i] + span / 2;
    const row = laneRow[laneOf[i]];
    if (row >= 0) {
      const y = row * laneHeightPx;
      if (y < view.scrollY || y > view.scrollY + plotHeight() - laneHeightPx) view.scrollY = y - plotHeight() / 2;
      clampScroll();
    }
    return requestDraw();
  }

  function eventScreenPosition(i) {
    if (i < 0 || i >= n || !shown[i] || laneRow[laneOf[i]] < 0) return null;
    const px = toPx(xs()[i]);
    const py = rowY(laneRow[laneOf[i]]);
    if (px < gutterPx || px > canvas.clientWidth || py < axisPx || py > canvas.clientHeight) return null;
    const box = canvas.getBoundingClientRect();
    return { x: box.left + px, y: box.top + py };
  }

  // --- Controls ----------------------------------------------------------------------------
  function fillSelect(selectEl, groups) {
    for (const [label, options] of groups) {
      const group = document.createElement('optgroup');
      group.label = label;
      for (const [value, name] of options) {
        const option = document.createElement('option');
        option.value = value;
        option.textContent = name;
        group.append(option);
      }
      selectEl.append(group);
    }
  }

  const kindCounts = new Map();
  for (let i = 0; i < n; i++) kindCounts.set(kindOf[i], (kindCounts.get(kindOf[i]) || 0) + 1);
  const kinds = [...kindCounts.keys()].map((k) => S[k]).sort();
  fillSelect(el('f-kind'), [['kinds', kinds.map((k) => [k, k + ' (' + kindCounts.get(indexOfString(k)) + ')'])]]);
  const actorNames = [...new Set(lanes.map((l) => l.actor))].sort();
  fillSelect(el('f-actor'), [
    ['an actor on every node', actorNames.map((a) => [a, a])],
    ['one lane (node/actor)', lanes.map((_, l) => [laneKey(l), laneKey(l)])],
  ]);
  const topics = [...new Set(data.partitions.map((p) => p.topic))];
  fillSelect(el('f-partition'), [
    ['a topic', topics.map((topic) => ['topic:' + topic, topic])],
    ['a partition', data.partitions.map((p) => [p.actor, p.topic + ' / ' + p.partition])],
  ]);

  const nullable = (value) => (value === '' ? null : value);
  const numberOrNull = (value) => (value.trim() === '' || !Number.isFinite(Number(value)) ? null : Number(value));

  function filterFromControls() {
    return {
      actor: nullable(el('f-actor').value),
      partition: nullable(el('f-partition').value),
      kind: nullable(el('f-kind').value),
      fromMs: numberOrNull(el('f-from').value),
      toMs: numberOrNull(el('f-to').value),
    };
  }

  function showFilterInControls() {
    el('f-actor').value = filter.actor ?? '';
    el('f-partition').value = filter.partition ?? '';
    el('f-kind').value = filter.kind ?? '';
    el('f-from').value = filter.fromMs === null ? '' : String(filter.fromMs);
    el('f-to').value = filter.toMs === null ? '' : String(filter.toMs);
  }

  /** Replaces the filter (missing fields: no filter on that); a new time window also zooms to it. */
  function setFilter(next) {
    const windowChanged = (next.fromMs ?? null) !== filter.fromMs || (next.toMs ?? null) !== filter.toMs;
    filter = {
      actor: next.actor ?? null, partition: next.partition ?? null, kind: next.kind ?? null,
      fromMs: next.fromMs ?? null, toMs: next.toMs ?? null,
    };
    showFilterInControls();
    applyFilter();
    if (windowChanged) fitView();
    return requestDraw();
  }

  for (const id of ['f-actor', 'f-partition', 'f-kind', 'f-from', 'f-to']) {
    el(id).addEventListener('change', () => setFilter(filterFromControls()));
  }
  el('f-reset').addEventListener('click', () => setFilter({}));
  el('f-fit').addEventListener('click', () => { fitView(); requestDraw(); });
  for (const radio of document.querySelectorAll('input[name=axis]')) {
    radio.addEventListener('change', () => setAxis(radio.value));
  }

  function setAxis(axis) {
    if (axis === view.axis) return requestDraw();
    // Keep the same events in view: map the window's edges through the events nearest them.
    const before = xs();
    let lo = -1;
    let hi = -1;
    for (let i = 0; i < n; i++) {
      if (!shown[i]) continue;
      if (before[i] >= view.x0 && lo < 0) lo = i;
      if (before[i] <= view.x1) hi = i;
    }
    view.axis = axis;
    document.querySelector('input[name=axis][value=' + axis + ']').checked = true;
    if (lo < 0 || hi < lo) fitView();
    else {
      const after = xs();
      let a = Infinity;
      let b = -Infinity;
      for (let i = lo; i <= hi; i++) if (shown[i]) { a = Math.min(a, after[i]); b = Math.max(b, after[i]); }
      if (b - a < 1e-6) fitView(); else { const pad = (b - a) * 0.01; view.x0 = a - pad; view.x1 = b + pad; }
    }
    return requestDraw();
  }

  // Zoom with the wheel around the pointer; shift+wheel scrolls the lanes; drag pans both ways.
  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    if (event.shiftKey) {
      view.scrollY += event.deltaY;
      clampScroll();
    } else {
      const px = Math.max(gutterPx, event.clientX - box.left);
      const at = toX(px);
      const factor = Math.exp(event.deltaY * 0.0015);
      view.x0 = at - (at - view.x0) * factor;
      view.x1 = at + (view.x1 - at) * factor;
      if (event.deltaX !== 0) {
        const shift = event.deltaX / plotWidth() * (view.x1 - view.x0);
        view.x0 += shift;
        view.x1 += shift;
      }
    }
    requestDraw();
  }, { passive: false });

  let drag = null;
  canvas.addEventListener('mousedown', (event) => {
    drag = { x: event.clientX, y: event.clientY, x0: view.x0, x1: view.x1, scrollY: view.scrollY, moved: false };
  });
  window.addEventListener('mousemove', (event) => {
    if (drag === null) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    const shift = dx / plotWidth() * (drag.x1 - drag.x0);
    view.x0 = drag.x0 - shift;
    view.x1 = drag.x1 - shift;
    view.scrollY = drag.scrollY - dy;
    clampScroll();
    canvas.style.cursor = 'grabbing';
    requestDraw();
  });
  window.addEventListener('mouseup', (event) => {
    if (drag === null) return;
    const wasClick = !drag.moved;
    drag = null;
    canvas.style.cursor = '';
    if (!wasClick) return;
    const box = canvas.getBoundingClientRect();
    const hit = hitTest(event.clientX - box.left, event.clientY - box.top);
    if (hit >= 0) select(hit);
  });
  canvas.addEventListener('mousemove', (event) => {
    if (drag !== null) return;
    const box = canvas.getBoundingClientRect();
    const hit = hitTest(event.clientX - box.left, event.clientY - box.top);
    canvas.title = hit < 0 ? '' : S[kindOf[hit]] + ' · ' + laneKey(laneOf[hit]) + ' · t=' + time[hit] + ' · line ' + (hit + 2);
  });
  window.addEventListener('resize', () => { resizeCanvas(); requestDraw(); });

  // --- Start -------------------------------------------------------------------------------
  if (data.divergence !== null) {
    const banner = el('banner');
    banner.hidden = false;
    banner.append(text('strong', data.divergence.message));
    if (data.divergence.fileLine !== null) banner.append(text('pre', 'file:   ' + data.divergence.fileLine));
    if (data.divergence.replayLine !== null) banner.append(text('pre', 're-run: ' + data.divergence.replayLine));
  }
  applyFilter();
  timings.indexMs = performance.now() - parsedAt;
  resizeCanvas();
  fitView();
  select(-1);

  const detailsLoaded = drawn.then(() => inflateJson('logmesh-details')).then((details) => {
    payloads = details.payload;
    effects = details.effects;
    timings.detailsLoadedMs = performance.now();
    if (selected >= 0) select(selected);
  });

  window.logmeshViewer = {
    eventCount: () => n,
    shownCount: () => shownCount,
    setFilter,
    setAxis,
    focusEvent,
    eventScreenPosition,
    select,
    selected: () => selected,
    lastDrawMs: () => lastDrawMs,
    timings,
    drawn,
    detailsLoaded,
  };
})().catch((error) => {
  const banner = document.getElementById('banner');
  banner.hidden = false;
  banner.textContent = 'The viewer failed: ' + error.message;
  throw error;
});
`;
