import { lastIndex } from '../../actors/controller/raft-log.js';
import { imageDigest } from './types.js';
export const metadataConvergence = 'metadata-convergence';
/** Why the cluster has not converged yet; empty when it has. */
export function convergenceGaps(controllers, brokers, expectedNodes) {
    const leaders = controllers.filter((c) => c.state === 'leader');
    if (leaders.length !== 1)
        return [`${leaders.length} controllers think they lead`];
    const leader = leaders[0];
    const gaps = [];
    const end = lastIndex(leader.context.log);
    const digest = imageDigest(leader.context.image);
    for (const c of controllers) {
        if (c.context.term !== leader.context.term || c.context.leaderId !== leader.node)
            gaps.push(`controller ${c.node} does not follow leader ${leader.node}`);
        else if (c.context.commitIndex !== end || c.context.image.offset !== end)
            gaps.push(`controller ${c.node} applied ${c.context.image.offset} of ${end}`);
        else if (imageDigest(c.context.image) !== digest)
            gaps.push(`controller ${c.node} image differs from the leader's at offset ${end}`);
    }
    for (const b of brokers) {
        if (b.state !== 'running')
            gaps.push(`broker ${b.node} is ${b.state}`);
        else if (b.context.image.offset !== end)
            gaps.push(`broker ${b.node} is at offset ${b.context.image.offset} of ${end}`);
        else if (imageDigest(b.context.image) !== digest)
            gaps.push(`broker ${b.node} image differs from the controllers' at offset ${end}`);
    }
    const image = leader.context.image;
    for (const node of expectedNodes) {
        const broker = image.brokers.get(node);
        if (broker === undefined || broker.fenced)
            gaps.push(`broker ${node} is ${broker === undefined ? 'unregistered' : 'fenced'}`);
    }
    for (const topic of image.topicsByName.values()) {
        for (const p of topic.partitions) {
            const leaderBroker = image.brokers.get(p.leader);
            if (p.leader < 0 || leaderBroker === undefined || leaderBroker.fenced || !p.isr.includes(p.leader)) {
                gaps.push(`${topic.name}-${p.partition} has no live leader (leader ${p.leader}, isr [${p.isr.join(',')}])`);
            }
        }
    }
    return gaps;
}
//# sourceMappingURL=metadata-convergence.js.map