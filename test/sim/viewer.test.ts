// The trace viewer (`logmesh trace view`), in a real headless browser: Debian's chromium driven
// by playwright-core. Without chromium the browser tests are skipped, except under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { parentIndexes } from '../../sim/export/causality.js';
import { runSimulation } from '../../sim/run.js';
import { readTraceFile } from '../../sim/trace-file.js';
import { faultsOf, lamportClocks, partitionOf } from '../../sim/viewer/model.js';
import { decodeViewerData } from '../../sim/viewer/html.js';
import { writeTraceViewer } from '../../sim/viewer/view.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../..');
const cli = join(here, '../../runtime/ops/cli.js');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const readyTimeoutMs = 30_000;

const dir = mkdtempSync(join(tmpdir(), 'logmesh-viewer-'));
const tracePath = join(dir, 'run.jsonl');
// A few seconds of virtual time, about 2,000 events, with a crash, a partition and dropped messages.
runSimulation({ seed: 5, nodes: 3, durationMs: 12_000, faults: ['crash', 'partition', 'drop'], workload: 'mixed', tracePath });
const trace = readTraceFile(tracePath);
const events = trace.events;

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Why the browser tests cannot run here, or null. Under CI a missing chromium is a failure. */
function browserMissing(): string | null {
  if (existsSync(chromiumPath)) return null;
  const reason = `no chromium at ${chromiumPath} (Debian: apt-get install chromium; .ci/run installs it)`;
  if (process.env.CI !== undefined) assert.fail(`CI needs the browser for the trace viewer test: ${reason}`);
  return reason;
}

async function withPage(run: (page: Page) => Promise<void>): Promise<void> {
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await run(page);
    assert.deepEqual(pageErrors, [], 'the page threw');
  } finally {
    await browser?.close();
  }
}

async function open(page: Page, htmlPath: string): Promise<void> {
  await page.goto(pathToFileURL(htmlPath).href);
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: readyTimeoutMs });
}

/**
 * Calls the page's test hook, window.logmeshViewer (sim/viewer/page-script.ts): `eventCount()`,
 * `shownCount()`, `setFilter(f)`, `setAxis(a)`, `focusEvent(i)` (these three resolve after the
 * redraw), `eventScreenPosition(i)`, `selected()`. Arguments are written as JSON.
 */
async function viewer<R>(page: Page, method: string, ...args: unknown[]): Promise<R> {
  return page.evaluate(`window.logmeshViewer.${method}(${args.map((a) => JSON.stringify(a)).join(', ')})`) as Promise<R>;
}

/** Counts the canvas pixels of saturated colour (event marks: blue, green, purple, red) and hashes the image. */
async function canvasInk(page: Page): Promise<{ ink: number; hash: number }> {
  return page.evaluate(() => {
    const canvas = document.getElementById('diagram') as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    let hash = 0;
    for (let p = 0; p < pixels.length; p += 4) {
      const r = pixels[p]!;
      const g = pixels[p + 1]!;
      const b = pixels[p + 2]!;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) ink++;
      hash = (hash * 31 + r + g * 7 + b * 13) | 0;
    }
    return { ink, hash };
  });
}

async function shownAfter(page: Page, filter: Record<string, string | number>): Promise<number> {
  await viewer(page, 'setFilter', filter);
  return viewer<number>(page, 'shownCount');
}

test('model: Lamport clocks put every parent before its child; faults pair with their ends; partition ids parse', () => {
  assert.ok(events.length > 1500 && events.length < 4000, `a short trace: ${events.length} events`);
  const parents = parentIndexes(events);
  const laneIds = new Map<string, number>();
  const lanes = events.map((e) => {
    const key = `${e.node}/${e.actor}`;
    if (!laneIds.has(key)) laneIds.set(key, laneIds.size);
    return laneIds.get(key)!;
  });
  const isFault = Uint8Array.from(events, (e) => (e.kind.startsWith('@fault:') ? 1 : 0));
  const clocks = lamportClocks(lanes, parents, laneIds.size, isFault);
  let arrows = 0;
  parents.forEach((parent, child) => {
    if (parent < 0) return;
    arrows++;
    assert.ok(clocks[parent]! < clocks[child]!, `line ${child + 2}: its parent's clock ${clocks[parent]} is not before ${clocks[child]}`);
  });
  assert.ok(arrows > 500, `${arrows} causal links`);
  // A fault sits after everything written before it, not at the diagram's start.
  isFault.forEach((flag, i) => {
    if (flag === 1) assert.equal(clocks[i], Math.max(...clocks.subarray(0, i)) + 1, `fault on line ${i + 2}`);
  });
  const faults = faultsOf(events);
  const crash = faults.find((f) => f.kind === 'crash');
  assert.ok(crash !== undefined, 'the run crashed a node');
  assert.ok(crash.endEvent > crash.event, 'the crash ends at its restart');
  assert.equal(events[crash.endEvent]!.kind, '@fault:restart');
  assert.equal(events[crash.endEvent]!.node, crash.node);
  assert.ok(faults.some((f) => f.kind === 'partition' && f.endEvent > f.event), 'a partition and its heal');
  assert.deepEqual(partitionOf({ node: 2, actor: 'topic-2-13' }, 3), { actor: 'topic-2-13', topic: 'topic-2', partition: 13 });
  assert.equal(partitionOf({ node: 2, actor: 'group-coordinator-3' }, 3), null);
  assert.equal(partitionOf({ node: 1001, actor: 'data-client' }, 3), null);
});

test('trace view: the page draws the diagram, filters to exactly the matching lines, and shows a clicked event\'s payload', async (t) => {
  const missing = browserMissing();
  if (missing !== null) {
    t.skip(missing);
    return;
  }
  const htmlPath = join(dir, 'run.html');
  const result = writeTraceViewer(tracePath, htmlPath);
  assert.equal(result.divergence, null, 'the re-run matches the file');
  assert.equal(result.events, events.length);
  const html = readFileSync(htmlPath, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/, 'self-contained: nothing loaded from elsewhere');

  await withPage(async (page) => {
    await open(page, htmlPath);
    assert.equal(await viewer(page, 'eventCount'), events.length);
    assert.equal(await viewer(page, 'shownCount'), events.length);
    const all = await canvasInk(page);
    assert.ok(all.ink > 500, `the canvas has event marks (${all.ink} coloured pixels)`);
    assert.match(await page.textContent('#count') ?? '', new RegExp(`^${events.length.toLocaleString('en-US')} of ${events.length.toLocaleString('en-US')} events shown$`));

    // One message kind, one lane, an actor on every node, a partition, a time window.
    const kind = 'ProduceRequest';
    const byKind = events.filter((e) => e.kind === kind).length;
    assert.ok(byKind > 0 && byKind < events.length);
    assert.equal(await shownAfter(page, { kind }), byKind);
    const kindInk = await canvasInk(page);
    assert.notEqual(kindInk.hash, all.hash, 'the kind filter changed the drawing');
    assert.ok(kindInk.ink > 0 && kindInk.ink < all.ink, `fewer marks drawn: ${kindInk.ink} of ${all.ink}`);
    assert.equal(await page.textContent('#count'), `${byKind} of ${events.length.toLocaleString('en-US')} events shown`);
    assert.equal(await shownAfter(page, { actor: '1/controller' }), events.filter((e) => e.node === 1 && e.actor === 'controller').length);
    assert.equal(await shownAfter(page, { actor: 'broker' }), events.filter((e) => e.actor === 'broker').length);
    assert.equal(await shownAfter(page, { partition: 'events-0' }), events.filter((e) => e.actor === 'events-0' && e.node >= 1 && e.node <= 3).length);
    assert.equal(await shownAfter(page, { partition: 'topic:events' }), events.filter((e) => e.actor.startsWith('events-') && e.node >= 1 && e.node <= 3).length);
    assert.equal(await shownAfter(page, { kind, actor: 'events-0' }), events.filter((e) => e.kind === kind && e.actor === 'events-0').length);
    assert.equal(await shownAfter(page, { fromMs: 4000, toMs: 6000 }), events.filter((e) => e.t >= 4000 && e.t <= 6000).length);
    assert.equal(await shownAfter(page, {}), events.length);

    // The Lamport axis draws too.
    await viewer(page, 'setAxis', 'lamport');
    assert.ok((await canvasInk(page)).ink > 500, 'the Lamport layout is drawn');
    await viewer(page, 'setAxis', 'time');

    // Click a ProduceRequest a cluster node handled, alone at its spot in its lane.
    const target = events.findIndex((e, i) => e.kind === kind && e.node <= 3
      && !events.some((o, j) => j !== i && o.kind === kind && o.node === e.node && o.actor === e.actor && Math.abs(o.t - e.t) < 1));
    assert.ok(target >= 0, 'a ProduceRequest to click');
    await viewer(page, 'setFilter', { kind });
    await viewer(page, 'focusEvent', target);
    const at = await viewer<{ x: number; y: number } | null>(page, 'eventScreenPosition', target);
    assert.ok(at !== null, 'the focused event is on screen');
    await page.evaluate('window.logmeshViewer.detailsLoaded');
    await page.mouse.click(at.x, at.y);
    assert.equal(await viewer(page, 'selected'), target);
    const details = await page.innerText('#details');
    assert.match(details, new RegExp(`^${kind}`), 'the panel names the kind');
    assert.match(details, new RegExp(`line\\s+${target + 2}\\b`));
    assert.match(details, /"topic": "events"/, 'the payload is shown');
    assert.match(details, /effects emitted/i);
    assert.match(details, /→/, 'states before and after');

    // The panel's parent link walks back along the causal chain.
    await viewer(page, 'setFilter', {});
    const parents = parentIndexes(events);
    const child = events.findIndex((e, i) => e.kind === 'ProduceResponse' && parents[i]! >= 0);
    assert.ok(child >= 0, 'a response with its send in the trace');
    await viewer(page, 'select', child);
    await page.click('#details button:text("go to")');
    assert.equal(await viewer(page, 'selected'), parents[child]);
    assert.match(await page.innerText('#details'), new RegExp(`line\\s+${parents[child]! + 2}\\b`));

    mkdirSync(join(repoRoot, 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'artifacts', 'trace-viewer.png') });
  });
});

test('trace view: a trace the code no longer reproduces still opens, with a banner naming the first diverging line', async (t) => {
  // An edit that keeps the line valid: the re-run writes the original line there.
  const edited = join(dir, 'edited.jsonl');
  const lines = readFileSync(tracePath, 'utf8').split('\n');
  const divergingLine = 600;
  lines[divergingLine - 1] = lines[divergingLine - 1]!.replace(/"kind":"[^"]+"/, '"kind":"EditedKind"');
  writeFileSync(edited, lines.join('\n'));
  const htmlPath = join(dir, 'edited.html');
  const result = writeTraceViewer(edited, htmlPath);
  assert.match(result.divergence ?? '', new RegExp(`at line ${divergingLine}:`));
  // Payloads up to the divergence only (event i is line i + 2).
  const block = /<script type="application\/octet-stream" id="logmesh-details">([^<]*)<\/script>/.exec(readFileSync(htmlPath, 'utf8'));
  const { payload } = decodeViewerData(block![1]!) as { payload: Array<string | null> };
  assert.equal(payload.length, events.length);
  assert.ok(payload.slice(0, divergingLine - 2).filter((p) => p !== null).length > divergingLine / 2, 'payloads before the divergence');
  assert.deepEqual(payload.slice(divergingLine - 2).filter((p) => p !== null), [], 'none from the diverging line on');
  const run = spawnSync(process.execPath, [cli, 'trace', 'view', edited, '--out', join(dir, 'edited-cli.html')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`diverges from the file at line ${divergingLine}:`));
  assert.match(run.stdout, /^wrote .*edited-cli\.html: \d+ events/);

  const missing = browserMissing();
  if (missing !== null) {
    t.skip(missing);
    return;
  }
  await withPage(async (page) => {
    await open(page, htmlPath);
    assert.equal(await viewer(page, 'shownCount'), events.length);
    assert.equal(await page.isVisible('#banner'), true);
    assert.match(await page.innerText('#banner'), new RegExp(`line ${divergingLine}:`));
  });
});

test('trace view: a truncated trace fails with the line it breaks at, exit status 1, no stack trace', () => {
  const truncated = join(dir, 'truncated.jsonl');
  const text = readFileSync(tracePath, 'utf8');
  writeFileSync(truncated, text.slice(0, text.length - 40));
  const run = spawnSync(process.execPath, [cli, 'trace', 'view', truncated], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.match(run.stderr, new RegExp(`^logmesh: ${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${events.length + 1}: not JSON \\(truncated or edited\\?\\)`));
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(join(dir, 'truncated.html')), false, 'nothing written');
});

// The figures in docs/benchmarks.md: LOGMESH_VIEWER_BENCH=trace.jsonl node --test dist/test/sim/viewer.test.js
const benchTrace = process.env.LOGMESH_VIEWER_BENCH;
test('trace view benchmark: write the page, load it to the first draw, redraw after filters', { skip: benchTrace === undefined ? 'set LOGMESH_VIEWER_BENCH=trace.jsonl' : false }, async (t) => {
  const missing = browserMissing();
  if (missing !== null) {
    t.skip(missing);
    return;
  }
  const htmlPath = join(dir, 'bench.html');
  const started = performance.now();
  const written = writeTraceViewer(benchTrace!, htmlPath);
  t.diagnostic(`trace view: ${written.events} events, ${(written.bytes / 1e6).toFixed(1)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const filters: Array<Record<string, string>> = [{ kind: 'FetchRequest' }, { actor: '1/controller' }, { partition: 'topic:events' }, {}];
  for (let run = 1; run <= 3; run++) {
    await withPage(async (page) => {
      await open(page, htmlPath);
      await page.evaluate('window.logmeshViewer.detailsLoaded');
      assert.equal(await viewer(page, 'shownCount'), written.events);
      const timings = await page.evaluate('window.logmeshViewer.timings') as Record<string, number>;
      const redraws: string[] = [];
      for (const filter of filters) {
        const ms = await page.evaluate(`(async () => { const t0 = performance.now(); await window.logmeshViewer.setFilter(${JSON.stringify(filter)}); return performance.now() - t0; })()`) as number;
        redraws.push(`${JSON.stringify(filter)} ${Math.round(ms)} ms (${await viewer<number>(page, 'shownCount')} shown)`);
      }
      const round = (ms: number | undefined): number => Math.round(ms ?? -1);
      t.diagnostic(`run ${run}: navigation to first draw ${round(timings.navigationToFirstDrawMs)} ms (inflate+parse ${round(timings.loadDataMs)}, index ${round(timings.indexMs)}, draw ${round(timings.firstDrawMs)}), payloads ready at ${round(timings.detailsLoadedMs)} ms; filter redraws: ${redraws.join(', ')}`);
    });
  }
});
