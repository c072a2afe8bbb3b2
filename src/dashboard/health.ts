/**
 * Content replication health in counts: the figures of getContentAvailabilityMap (online
 * providers, shortfall) and of findOrphanedContent, computed by one column scan each without
 * making a record, a provider list or a CID string per item. At M (100,000 items) the helpers
 * take ~390 ms and ~150 ms because they build those objects; these scans are what a dashboard
 * can afford per update. test/dashboard/units.test.ts checks both against the helpers.
 */
import { keyIndex, tableView } from '../arrow/decode/table-view.js';
import type { Snapshot } from '../snapshot.js';
import { onlineProviderCounter, referencedContent } from '../helpers/content.js';

/** Replication health of a snapshot's content. */
export interface ContentHealth {
  /** The revision these counts were read from. */
  revision: number;
  /** Content items (with a CID; a repeated CID counts once, as in getContentAvailabilityMap). */
  items: number;
  /** Items with fewer distinct online providers than their replication target. */
  under_replicated: number;
  /** Replicas missing: the sum over items of max(0, replication − online providers). */
  shortfall: number;
  /** Items with no online provider at all (and a replication target above 0). */
  unavailable: number;
  /** Items no task refers to (findOrphanedContent's definition). */
  orphaned: number;
  /** Wall-clock milliseconds the two scans took (for the adaptive cadence). */
  cost_ms: number;
}

/**
 * Counts the replication health of `snap`'s content. Guarantees: `under_replicated`,
 * `shortfall` and `unavailable` agree with getContentAvailabilityMap(snap) (an item with an
 * unknown replication target counts in none of them), `orphaned` equals
 * findOrphanedContent(snap).length. Reads the columns in place; allocates O(rows) bytes.
 */
export function contentHealth(snap: Snapshot): ContentHealth {
  const t0 = performance.now();
  const cv = tableView(snap.content);
  let items = 0;
  let under = 0;
  let shortfall = 0;
  let unavailable = 0;
  let orphaned = 0;
  if (cv.numRows > 0) {
    const onlineProviders = onlineProviderCounter(snap);
    const cix = keyIndex(cv, 'cid');
    const referenced = referencedContent(snap, cix, cv.numRows);
    const cids = cv.str('cid');
    const providers = cv.list('providers');
    const replication = cv.num('replication');
    for (let b = 0; b < cv.lengths.length; b++) {
      const cc = cids.chunks[b]!;
      const pc = providers.chunks[b]!;
      const rc = replication.chunks[b]!;
      for (let i = 0; i < cv.lengths[b]!; i++) {
        if (cc.isNull(i)) continue;
        const first = cix.findFrom(cc, i);
        // findOrphanedContent lists every item (a repeated CID's too) but none with an empty CID.
        if (first >= 0 && referenced[first] === 0 && !(cc.offsets !== null && cc.offsets[i] === cc.offsets[i + 1])) orphaned++;
        if (first !== cv.starts[b]! + i) continue; // a repeated CID: its first item stands for it
        items++;
        const r = rc.get(i);
        if (!Number.isFinite(r)) continue;
        const available = onlineProviders(pc, i);
        const missing = Math.max(0, r - available);
        if (missing > 0) {
          under++;
          shortfall += missing;
          if (available === 0) unavailable++;
        }
      }
    }
  }
  return { revision: snap.revision, items, under_replicated: under, shortfall, unavailable, orphaned, cost_ms: performance.now() - t0 };
}

