/**
 * Removing one cluster's objects from a NATS server (the demo's fresh start): its stream of
 * change sets, its snapshot object store and its lease bucket. Refused (LOCKED, nothing removed)
 * while a master holds the cluster's lease: a running cluster is never wiped.
 */
import { Kvm } from '@nats-io/kv';
import { isStateError, locked, show } from '../errors.js';
import { engineFailure, isApiError, type NatsLink } from './connect.js';
import { clusterNames, LEASE_KEY } from './names.js';

/** JetStream's "stream not found" error code. */
const STREAM_NOT_FOUND = 10059;

/**
 * Deletes cluster `clusterId`'s stream, object store and lease bucket from the server of `link`.
 * Resolves with the names of what existed and was removed; LOCKED (nothing removed) while its
 * lease is held; UNAVAILABLE when the engine does not answer.
 */
export async function removeCluster(link: NatsLink, clusterId: string): Promise<string[]> {
  const names = clusterNames(clusterId);
  const kvStream = `KV_${names.lease}`;
  const objStream = `OBJ_${names.snapshots}`;
  try {
    const has = async (s: string) => link.jsm.streams.info(s).then(() => true, (e: unknown) => {
      if (isApiError(e, STREAM_NOT_FOUND)) return false;
      throw e;
    });
    if (await has(kvStream)) {
      const kv = await new Kvm(link.js).open(names.lease);
      const e = await kv.get(LEASE_KEY);
      if (e && e.operation === 'PUT') {
        let holder: string = e.string();
        try {
          holder = String((e.json() as { nodeId?: unknown }).nodeId);
        } catch {
          // not JSON: name the raw value
        }
        throw locked(`cluster ${show(clusterId)} on ${link.url} is running (its master ${show(holder)} holds the lease): stop it first`);
      }
    }
    const removed: string[] = [];
    for (const s of [names.stream, objStream, kvStream]) {
      if (await has(s)) {
        await link.jsm.streams.delete(s);
        removed.push(s);
      }
    }
    return removed;
  } catch (e) {
    if (isStateError(e)) throw e;
    throw engineFailure(`removing cluster ${show(clusterId)}`, link, e);
  }
}
