import test from 'ava';
import { ClusterState } from '../../src/index.js';
import { encodeChangeBatch } from '../../src/changes/encode.js';
import { decodeChangeBatch } from '../../src/changes/decode.js';
import { HEADER_BYTES, SECTIONS, sectionSchemaBytes } from '../../src/changes/codec-format.js';
import { revision, sectionBounds } from './support.js';

/** Heartbeats of `n` realistic nodes, each read back with getNode after the heartbeat. */
function heartbeats(n: number) {
  let now = 1_700_000_000_000;
  const s = ClusterState.inMemory({ clusterId: 'size', nodeId: 'master-1', clock: () => (now += 3) });
  const id = (i: number) => `node-${String(i).padStart(6, '0')}-12D3KooWAbCdEf`;
  for (let i = 0; i < n; i++) {
    s.registerNode({ id: id(i), role: 'worker', peers: [id((i + 1) % n)], capabilities: ['gpu', 'pinning'], address: `10.0.${i >> 8}.${i & 255}`, resources: { cpu: 16, memory: '64GiB', disk: '2TB', gpu: 1 }, metadata: { zone: `z${i % 3}` } });
  }
  return Array.from({ length: n }, (_, i) => {
    s.heartbeat(id(i), { cpu_load: 12.5 + (i % 50), memory_available: '48GiB' });
    return s.getNode(id(i))!;
  });
}

test('encoded size of heartbeat change sets (reported; bounded loosely against regressions)', (t) => {
  const nodes = heartbeats(1000);
  const one = encodeChangeBatch([revision(1, { upserts: { nodes: [nodes[0]!] } })]);
  const many = encodeChangeBatch(nodes.map((n, i) => revision(1 + i, { upserts: { nodes: [n] } })));
  const wide = encodeChangeBatch([revision(1, { upserts: { nodes } })]);
  const b = sectionBounds(one);
  const schemas = sectionSchemaBytes();
  const parts = SECTIONS.filter((s) => b[s][1] > b[s][0]).map((s) => `${s} ${b[s][1] - b[s][0]} (schema ${schemas[s].byteLength}, batch ${b[s][1] - b[s][0] - schemas[s].byteLength})`);
  t.log(`one heartbeat, one revision: ${one.byteLength} bytes = header ${HEADER_BYTES} + ${parts.join(' + ')}`);
  t.log(`JSON of that change set: ${JSON.stringify(decodeChangeBatch(one, 'one').changeSets()).length} bytes`);
  t.log(`1,000 heartbeats, one revision each: ${many.byteLength} bytes, ${(many.byteLength / 1000).toFixed(0)} bytes per change set`);
  t.log(`1,000 heartbeats in one revision: ${wide.byteLength} bytes, ${(wide.byteLength / 1000).toFixed(0)} bytes per row`);
  t.true(one.byteLength <= 4096);
  t.true(many.byteLength / 1000 <= 256);
  t.deepEqual(decodeChangeBatch(many, 'many').changeSet(1000).changes, [{ table: 'nodes', op: 'upsert', id: nodes[999]!.id, record: nodes[999]! }]);
});
