// A campaign worker thread: runs the seeds it is handed, one at a time.
import { parentPort } from 'node:worker_threads';
import type { CampaignSeedResult, WorkerRequest } from './campaign.js';
import { runSimulation } from './run.js';

parentPort!.on('message', (request: WorkerRequest) => {
  const { violationDetails, ...rest } = runSimulation(request);
  const result: CampaignSeedResult = { ...rest, firstViolation: violationDetails[0] ?? null };
  parentPort!.postMessage(result);
});
