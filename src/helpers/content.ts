/**
 * Content helpers. CIDs and provider ids are matched on raw UTF-8 bytes through a hash index of
 * the key column (no string per row); only the content items returned are materialised.
 */
import type { ContentRecord } from '../schema/records.js';
import { text } from './args.js';
import { keyIndex, setKey, tableView } from '../arrow/decode/table-view.js';
import { withSnapshot, type StateSource } from './source.js';
import type { Snapshot } from '../snapshot.js';
import type { ListChunk } from '../arrow/decode/list-chunk.js';

/** Every content item, in table order. */
export function getAllContent(source: StateSource): ContentRecord[] {
  return withSnapshot(source, (s) => tableView(s.content).allRecords('content') as unknown as ContentRecord[]);
}

/** The content item with this CID, or null. */
export function findContentByCid(source: StateSource, cid: string): ContentRecord | null {
  const c = text(cid, 'cid');
  return withSnapshot(source, (s) => {
    return tableView(s.content).lookup('content', c) as unknown as ContentRecord | null;
  });
}

/** Content items whose providers include node `nodeId`, in table order. */
export function findContentByProvider(source: StateSource, nodeId: string): ContentRecord[] {
  const p = text(nodeId, 'nodeId');
  return withSnapshot(source, (s) => {
    const v = tableView(s.content);
    return v.records('content', v.list('providers').whereContains(p)) as unknown as ContentRecord[];
  });
}

/**
 * @internal A counter of a content row's distinct providers that are known nodes with status
 * `online` in `s` (row `i` of a `providers` chunk). Marks the online nodes once (O(nodes)); the
 * dashboard's health panel shares it with getContentAvailabilityMap.
 */
export function onlineProviderCounter(s: Snapshot): (providers: ListChunk, i: number) => number {
  const nv = tableView(s.nodes);
  if (nv.numRows === 0) return () => 0;
  const online = new Uint8Array(nv.numRows);
  const status = nv.str('status').matcher('online');
  for (let b = 0; b < nv.lengths.length; b++) for (let i = 0; i < nv.lengths[b]!; i++) if (status.test(b, i)) online[nv.starts[b]! + i] = 1;
  const nix = keyIndex(nv, 'id');
  const seen: number[] = [];
  return (pc, i) => {
    seen.length = 0;
    const end = pc.end(i);
    for (let k = pc.start(i); k < end; k++) {
      const g = nix.findFrom(pc.child!, k);
      if (g >= 0 && online[g] === 1 && !seen.includes(g)) seen.push(g);
    }
    return seen.length;
  };
}

/**
 * @internal For each content row (the index's row of its CID), 1 when a task refers to it as
 * findOrphanedContent decides (inputs of any task, outputs of completed ones), else 0. Reads the
 * tasks' columns in place; the dashboard's health panel shares it.
 */
export function referencedContent(s: Snapshot, ix: ReturnType<typeof keyIndex>, rows: number): Uint8Array {
  const referenced = new Uint8Array(rows);
  const tv = tableView(s.tasks);
  if (tv.numRows === 0) return referenced;
  const completed = tv.str('status').matcher('completed');
  const singles = [tv.str('input_cid'), tv.str('output_cid')];
  const lists = [tv.list('input_cids'), tv.list('output_cids')];
  for (let b = 0; b < tv.lengths.length; b++) {
    for (let i = 0; i < tv.lengths[b]!; i++) {
      // An unfinished task's declared output does not exist yet: only inputs keep content alive.
      const kinds = completed.test(b, i) ? 2 : 1;
      for (let k = 0; k < kinds; k++) {
        const g = ix.findFrom(singles[k]!.chunks[b]!, i);
        if (g >= 0) referenced[g] = 1;
        const l = lists[k]!.chunks[b]!;
        const end = l.end(i);
        for (let j = l.start(i); j < end; j++) {
          const h = ix.findFrom(l.child!, j);
          if (h >= 0) referenced[h] = 1;
        }
      }
    }
  }
  return referenced;
}

/**
 * Content no task refers to. A CID is referenced by any task's `input_cid`/`input_cids`, and by
 * a *completed* task's `output_cid`/`output_cids` (an unfinished task's declared output does not
 * exist yet, so it keeps nothing alive). Items with an empty CID are never listed. Pins,
 * providers and replication are not considered. In table order.
 */
export function findOrphanedContent(source: StateSource): ContentRecord[] {
  return withSnapshot(source, (s) => {
    const cv = tableView(s.content);
    if (cv.numRows === 0) return [];
    const ix = keyIndex(cv, 'cid');
    const referenced = referencedContent(s, ix, cv.numRows);
    const cids = cv.str('cid');
    const rows: number[] = [];
    for (let b = 0; b < cv.lengths.length; b++) {
      const c = cids.chunks[b]!;
      for (let i = 0; i < cv.lengths[b]!; i++) {
        if (c.isNull(i) || (c.offsets !== null && c.offsets[i] === c.offsets[i + 1])) continue; // no CID
        const first = ix.findFrom(c, i); // the row the index holds for this CID (a repeated CID shares it)
        if (first >= 0 && referenced[first] === 0) rows.push(cv.starts[b]! + i);
      }
    }
    return cv.records('content', rows) as unknown as ContentRecord[];
  });
}

/** Where one content item can be fetched from. */
export interface ContentAvailability {
  /** Its provider node ids, as stored. */
  providers: string[];
  /** Desired number of replicas (null when the source does not say). */
  replication: number | null;
  /** How many distinct providers are known nodes with status `online`. */
  available: number;
  /** max(0, replication − available); null when replication is unknown. */
  shortfall: number | null;
}

/**
 * CID → its providers, replication target, online providers and replica shortfall. Providers
 * that are not known nodes, or are offline or degraded, do not count as available. Should a
 * foreign file repeat a CID, the first item is reported.
 */
export function getContentAvailabilityMap(source: StateSource): Record<string, ContentAvailability> {
  return withSnapshot(source, (s) => {
    const onlineProviders = onlineProviderCounter(s);
    const cv = tableView(s.content);
    const cids = cv.str('cid');
    const providers = cv.list('providers');
    const replication = cv.num('replication');
    const out: Record<string, ContentAvailability> = {};
    for (let b = 0; b < cv.lengths.length; b++) {
      const cc = cids.chunks[b]!;
      const pc = providers.chunks[b]!;
      const rc = replication.chunks[b]!;
      for (let i = 0; i < cv.lengths[b]!; i++) {
        const cid = cc.get(i);
        if (cid === null || Object.prototype.hasOwnProperty.call(out, cid)) continue;
        const available = onlineProviders(pc, i);
        const r = rc.get(i);
        const rep = Number.isFinite(r) ? r : null;
        setKey(out, cid, { providers: pc.get(i), replication: rep, available, shortfall: rep === null ? null : Math.max(0, rep - available) });
      }
    }
    return out;
  });
}
