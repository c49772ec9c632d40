// `logmesh replay --node-inputs DIR`: re-runs a real node's actors from its input log
// (runtime/kernel/input-log.ts). Each actor is started with its recorded input and handed its
// recorded events in order, with nothing else around it: no network, no disk, no clock. Actors
// are pure, so each must go through the same states and emit the same effects (compared by
// digest) as it did on the node; the first line where one does not is reported.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createActor, type AnyActorRef, type AnyStateMachine } from 'xstate';
import { brokerMachine } from '../actors/broker/broker-machine.js';
import { controllerMachine } from '../actors/controller/controller-machine.js';
import { groupCoordinatorMachine } from '../actors/group/coordinator-machine.js';
import { partitionMachine } from '../actors/partition/partition-machine.js';
import type { EffectBatch } from '../actors/protocol/effects.js';
import { type InputLine, effectsDigest, inputLogVersion, parseInputLine } from '../runtime/kernel/input-log.js';
import { stateName } from '../runtime/kernel/node-kernel.js';
import { type ActorState, type SafeJsonLimits, safeJson, withoutConfig } from './replay.js';

/** Every machine a node runs, by machine id. */
const machines: Record<string, AnyStateMachine> = Object.fromEntries(
  [controllerMachine, brokerMachine, partitionMachine, groupCoordinatorMachine].map((machine) => [machine.id, machine]),
);

/** An input log that cannot be read; the message is `FILE:LINE: what`. */
export class InputLogError extends Error {}

export type NodeReplayOutcome =
  | { kind: 'same'; path: string; node: number; events: number; actorsStarted: number; actors: ActorState[]; tornTail: boolean }
  | { kind: 'diverged'; path: string; line: number; actor: string; what: string }
  | { kind: 'until'; path: string; line: number; actors: ActorState[] };

interface Replayed {
  actor: AnyActorRef;
  effects: unknown[];
}

/** The input logs in DIR (or DIR itself when it is one file), in name order. */
export function inputLogFiles(dirOrFile: string): string[] {
  let stat;
  try {
    stat = statSync(dirOrFile);
  } catch (error) {
    throw new InputLogError(`${dirOrFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (stat.isFile()) return [dirOrFile];
  const files = readdirSync(dirOrFile).filter((name) => name.endsWith('.inputs.jsonl')).sort().map((name) => join(dirOrFile, name));
  if (files.length === 0) throw new InputLogError(`${dirOrFile}: no *.inputs.jsonl files (written by logmesh node --record-inputs ${dirOrFile})`);
  return files;
}

/** Replays one input log; stops at the first divergence, or at `untilLine`. Throws InputLogError for a file that is not one. */
export function replayInputLog(path: string, options: { untilLine?: number; limits?: Partial<SafeJsonLimits> } = {}): NodeReplayOutcome {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  // A node killed with kill -9 can leave its last line half written: the log ends before it.
  const tornTail = lines.pop() !== '';
  const fail = (lineNumber: number, what: string): never => {
    throw new InputLogError(`${path}:${lineNumber}: ${what}`);
  };
  if (lines.length === 0) fail(1, 'empty file: no header');
  const node = parseHeader(lines[0]!, (what) => fail(1, what));
  if (options.untilLine !== undefined && (options.untilLine < 1 || options.untilLine > lines.length)) {
    fail(lines.length, `--until ${options.untilLine} is not a line of this file (it has ${lines.length})`);
  }
  const live = new Map<string, Replayed>();
  let events = 0;
  let actorsStarted = 0;
  try {
    for (let i = 1; i < lines.length; i++) {
      const lineNumber = i + 1;
      let line: InputLine;
      try {
        line = parseInputLine(lines[i]!);
      } catch (error) {
        return fail(lineNumber, (error as Error).message);
      }
      const diverged = (what: string): NodeReplayOutcome => ({ kind: 'diverged', path, line: lineNumber, actor: line.actor, what });
      switch (line.kind) {
        case 'start': {
          const machine = machines[line.machine];
          if (machine === undefined) fail(lineNumber, `unknown machine "${line.machine}" (known: ${Object.keys(machines).join(', ')})`);
          live.get(line.actor)?.actor.stop();
          const replayed = start(machine!, line.input);
          if ('error' in replayed) return diverged(`failed to start: ${replayed.error}`);
          live.set(line.actor, replayed);
          actorsStarted += 1;
          const state = stateOf(replayed.actor);
          if (state !== line.state) return diverged(`started in state ${state}, the node's started in ${line.state}`);
          const digest = takeEffects(replayed);
          if (digest !== line.effects) return diverged(`emitted different effects while starting (digest ${digest || 'none'}, the node's ${line.effects || 'none'})`);
          break;
        }
        case 'event': {
          const replayed = live.get(line.actor);
          if (replayed === undefined) fail(lineNumber, `event for actor ${line.actor}, which no earlier line started`);
          const before = stateOf(replayed!.actor);
          if (before !== line.before) return diverged(`is in state ${before} before ${line.event.type}, the node's was in ${line.before}`);
          try {
            replayed!.actor.send(line.event);
          } catch (error) {
            return diverged(`threw on ${line.event.type}: ${(error as Error).message}`);
          }
          const snapshot = replayed!.actor.getSnapshot() as { status: string; error?: unknown };
          if (snapshot.status === 'error') return diverged(`failed on ${line.event.type}: ${String((snapshot.error as Error)?.message ?? snapshot.error)}`);
          events += 1;
          const after = stateOf(replayed!.actor);
          if (after !== line.after) return diverged(`went to ${after} on ${line.event.type} (message ${line.id}), the node's went to ${line.after}`);
          const digest = takeEffects(replayed!);
          if (digest !== line.effects) return diverged(`emitted different effects on ${line.event.type} (message ${line.id}; digest ${digest || 'none'}, the node's ${line.effects || 'none'})`);
          break;
        }
        case 'stop':
          live.get(line.actor)?.actor.stop();
          live.delete(line.actor);
          break;
      }
      if (lineNumber === options.untilLine) return { kind: 'until', path, line: lineNumber, actors: statesOf(node, live, options.limits) };
    }
    return { kind: 'same', path, node, events, actorsStarted, actors: statesOf(node, live, options.limits), tornTail };
  } finally {
    for (const { actor } of live.values()) actor.stop();
  }
}

function parseHeader(text: string, fail: (what: string) => never): number {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail('not JSON: the first line must be the {"kind":"@node-inputs",...} header');
  }
  if (header?.kind !== '@node-inputs') fail('no header: the first line must be {"kind":"@node-inputs",...} (is this a simulation trace? use logmesh replay TRACE)');
  if (header.version !== inputLogVersion) fail(`unknown input log version ${JSON.stringify(header.version)} (this logmesh reads version ${inputLogVersion})`);
  if (typeof header.node !== 'number' || !Number.isInteger(header.node)) fail('header: "node" must be a node id');
  return header.node as number;
}

/** Never fires: node actors keep time through the events they are handed, not through xstate delays. */
const stillClock = { setTimeout: () => 0, clearTimeout: () => undefined };

function start(machine: AnyStateMachine, input: unknown): Replayed | { error: string } {
  const actor = createActor(machine, { input, clock: stillClock });
  const replayed: Replayed = { actor, effects: [] };
  actor.on('effects', (batch) => {
    replayed.effects.push(...(batch as unknown as EffectBatch).effects);
  });
  let failure: string | null = null;
  actor.subscribe({ error: (error) => { failure = (error as Error).message; } });
  try {
    actor.start();
  } catch (error) {
    return { error: (error as Error).message };
  }
  return failure === null ? replayed : { error: failure };
}

function takeEffects(replayed: Replayed): string {
  const digest = effectsDigest(replayed.effects);
  replayed.effects = [];
  return digest;
}

function stateOf(actor: AnyActorRef): string {
  return stateName((actor.getSnapshot() as { value: unknown }).value);
}

function statesOf(node: number, live: Map<string, Replayed>, limits: Partial<SafeJsonLimits> | undefined): ActorState[] {
  return [...live.entries()].map(([actorId, { actor }]) => {
    const { context } = actor.getSnapshot() as { context: unknown };
    return { node, actor: actorId, state: stateOf(actor), context: safeJson(withoutConfig(context), limits) };
  });
}

/** The report as the CLI prints it, and the exit status (1 when any file diverged). */
export function formatNodeReplay(outcomes: NodeReplayOutcome[]): { text: string; exitCode: number } {
  const out: string[] = [];
  let exitCode = 0;
  for (const outcome of outcomes) {
    switch (outcome.kind) {
      case 'same':
        out.push(`${outcome.path}: same states: node ${outcome.node}, ${outcome.actorsStarted} actors started, ${outcome.events} events replayed`
          + (outcome.tornTail ? ' (the last line was cut short, as a kill -9 leaves it, and is not replayed)' : ''));
        for (const a of outcome.actors) out.push(`  ${a.actor} ${a.state}`);
        break;
      case 'diverged':
        exitCode = 1;
        out.push(`${outcome.path}:${outcome.line}: diverged: actor ${outcome.actor} ${outcome.what}`);
        break;
      case 'until':
        out.push(`${outcome.path}: same states up to line ${outcome.line}`);
        for (const a of outcome.actors) out.push(`node ${a.node} ${a.actor} ${a.state} ${a.context}`);
        break;
    }
  }
  return { text: `${out.join('\n')}\n`, exitCode };
}
