// Raft's election safety: at most one leader per term.
import type { ControllerView, ViolationLog } from './types.js';

export const electionSafety = 'election-safety';

export class ElectionSafetyChecker {
  private readonly leaderOfTerm = new Map<number, number>();

  constructor(private readonly log: ViolationLog) {}

  observe(view: ControllerView, atMs: number): void {
    if (view.state !== 'leader') return;
    const term = view.context.term;
    const leader = this.leaderOfTerm.get(term);
    if (leader === undefined) this.leaderOfTerm.set(term, view.node);
    else if (leader !== view.node) {
      this.log.report(electionSafety, atMs, `term ${term} has two leaders: node ${leader} and node ${view.node}`);
    }
  }

  get termsWithLeader(): number {
    return this.leaderOfTerm.size;
  }
}
