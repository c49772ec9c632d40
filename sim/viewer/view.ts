// `logmesh trace view`: reads a trace, re-runs its simulation for the payloads and states the
// file does not hold, and writes the viewer page.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readTraceFile } from '../trace-file.js';
import { collectDetails, describeDivergence } from './collect.js';
import { viewerHtml } from './html.js';
import { buildViewerData } from './model.js';

export interface TraceViewResult {
  outPath: string;
  events: number;
  bytes: number;
  /** Set when the re-run diverged from the file: the page has payloads only before this. */
  divergence: string | null;
}

/** `run.jsonl` → `run.html`. */
export function defaultViewerPath(tracePath: string): string {
  return tracePath.endsWith('.jsonl') ? `${tracePath.slice(0, -'.jsonl'.length)}.html` : `${tracePath}.html`;
}

/** Writes the viewer page for a trace file. Throws TraceFileError for a file that is not a readable trace. */
export function writeTraceViewer(tracePath: string, outPath: string = defaultViewerPath(tracePath)): TraceViewResult {
  const trace = readTraceFile(tracePath);
  const { details, divergence } = collectDetails(trace);
  const divergenceMessage = divergence === null ? null : describeDivergence(divergence);
  const data = buildViewerData(
    basename(tracePath), trace.header, trace.events, details,
    divergence === null ? null : { ...divergence, message: divergenceMessage! },
  );
  const html = viewerHtml(data);
  writeFileSync(outPath, html);
  return { outPath, events: trace.events.length, bytes: Buffer.byteLength(html), divergence: divergenceMessage };
}
