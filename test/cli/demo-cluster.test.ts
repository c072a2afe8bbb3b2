// `cluster-state demo --nats <url> --failover`: the whole cluster on one machine in real
// processes (master, standby, agents, a remote follower) through a real nats-server; the master
// is killed halfway, the standby takes over, the old master rejoins as a standby, the agents go
// on; a second run starts fresh (the earlier demo cluster is removed from the server).
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { NatsServer } from '../support/nats-server.js';
import { tempDir } from '../replicate/support.js';
import { run } from '../cluster/processes.js';
import { run as runOnce } from './support.js';

test('demo --nats --failover: a whole cluster; the master is killed halfway and the standby takes over; a rerun starts fresh', async (t) => {
  const server = await NatsServer.start();
  const dir = tempDir('acs-demo-cluster-');
  try {
    const d = run(['demo', '--nats', server.url, '--duration', '14', '--failover', '--agents', '3', '--lease-ms', '1500', '--dir', dir, '--port', '0']);
    // The dashboard serves the remote follower's view of the cluster while the demo runs.
    const dash = await d.until((l) => l.event === 'dashboard', 60_000);
    const served = await (await fetch(`${String(dash.url)}api/summary`)).json() as { nodes?: { total: number } };
    t.true((served.nodes?.total ?? 0) >= 3, JSON.stringify(served).slice(0, 300));
    const code = await d.exited;
    t.is(code, 0, d.stderr());
    const events = d.lines.filter((l) => l.event === 'cluster').map((l) => l.what);
    t.deepEqual(events.filter((w) => w !== 'rejoined'), ['up', 'killed', 'leader'], JSON.stringify(events));
    t.true(events.includes('rejoined'), 'the old master rejoined as a standby');
    const leader = d.lines.find((l) => l.what === 'leader')!;
    t.is(leader.node, 'master-2');
    const samples = d.lines.filter((l) => l.event === 'sample');
    t.is(samples[samples.length - 1]!.leader, 'master-2');
    t.true((samples[samples.length - 1]!.nodes as { online: number }).online === 3, 'the agents\' nodes are online at the end');
    const summary = d.lines.find((l) => l.event === 'summary')!;
    t.deepEqual(summary.completed_twice, []);
    t.true((summary.completed_by_agents as number) > 0);
    t.true(((summary.failover as { took_ms: number }).took_ms) > 0);
    t.is(summary.exit, 0);
    // Completions after the takeover: the samples' completed count grows after the leader line.
    const after = samples.filter((s) => s.leader === 'master-2').map((s) => (s.tasks as Record<string, number>).completed ?? 0);
    t.true(after[after.length - 1]! > after[0]!, `tasks completed through the new master (${after[0]} → ${after[after.length - 1]})`);
    // A second run starts fresh: the earlier cluster is removed from the server first.
    const again = await runOnce(['demo', '--nats', server.url, '--duration', '4', '--agents', '1', '--lease-ms', '1500', '--dir', dir, '--json'], { timeoutMs: 60_000 });
    t.is(again.code, 0, again.stderr);
    t.false(again.stdout.includes('"killed"'));
    // Options of the simulated cluster are refused with --nats, and --nats's options without it.
    const bad = await runOnce(['demo', '--nats', server.url, '--nodes', '5', '--dir', join(dir, 'x')]);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--nodes is for the simulated cluster/);
    const bad2 = await runOnce(['demo', '--failover', '--dir', join(dir, 'x')]);
    t.is(bad2.code, 2);
    t.regex(bad2.stderr, /--failover needs --nats/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
