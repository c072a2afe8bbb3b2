/**
 * `arrow-cluster-state/agent`: a node agent — join a cluster through NATS, heartbeat, take the
 * tasks the master assigns to this node, report back (docs/cluster.md).
 *
 * ```ts
 * import { joinCluster } from 'arrow-cluster-state/agent';
 * const agent = await joinCluster({ nats: { servers }, clusterId: 'c1', node: { id: 'worker-7', role: 'worker' } });
 * for await (const task of agent.tasks()) {
 *   await agent.updateTask(task.id, { status: 'running' });
 *   await agent.updateTask(task.id, { status: 'completed', result: { ok: true } });
 * }
 * ```
 */
export { Agent, AgentConnection, joinCluster, type AgentEvents, type JoinOptions } from './agent.js';
export { machineResources } from './resources.js';
