import { after, test } from 'node:test';
import { RealCluster, assertPrerequisites, pause } from './real-cluster-harness.js';
const cluster = new RealCluster([1,2,3], 'logmesh-real-probe-');
after(() => cluster.tearDown(false));
test('probe', { timeout: Number(process.env.PROBE_TIMEOUT ?? 60000) }, async () => {
  await cluster.setUp(assertPrerequisites());
  cluster.startNodes();
  await cluster.connectClient();
  await pause(1500);
  console.log('PIDS', cluster.children.map((c) => c.proc.pid).join(' '));
  if (process.env.PROBE_TIMEOUT) await pause(60000);
  throw new Error('deliberate');
});
