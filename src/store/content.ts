/**
 * The rules of content: adding, updating (size, pin state, replication target, providers),
 * provider changes and removal. Every provider must be a registered node. Each function runs
 * inside a mutation (transactions.ts) on the model, validates its whole input before changing
 * anything, and throws a StateError naming the offending value otherwise.
 */
import { alreadyExists, notFound, show } from '../errors.js';
import type { ContentRecord, ContentUpdate } from '../schema/records.js';
import { contentPatch, newContentRecord } from '../validate/content.js';
import { checkId } from '../validate/values.js';
import type { Model } from '../tables/model.js';

/** Adds a content item; every provider must be a registered node. */
export function addContent(m: Model, input: unknown): ContentRecord {
  const rec = newContentRecord(input, m.now());
  if (m.tables.content.has(rec.cid)) throw alreadyExists('content', rec.cid);
  for (const p of rec.providers) m.requireNode(p, 'provider node');
  return m.insert('content', rec);
}

/**
 * Updates size, pin state, replication target or the whole provider list. Pinning stamps
 * `pinned_at`; unpinning clears it.
 */
export function updateContent(m: Model, cid: unknown, patch: ContentUpdate | unknown): ContentRecord {
  const old = m.requireContent(cid);
  const p = contentPatch(patch, 'patch');
  const rec: ContentRecord = { ...old };
  if (p.size !== undefined) rec.size = p.size;
  if (p.replication !== undefined) rec.replication = p.replication;
  if (p.providers !== undefined) {
    for (const n of p.providers) m.requireNode(n, 'provider node');
    rec.providers = p.providers;
  }
  if (p.pinned !== undefined) {
    rec.pinned = p.pinned;
    if (rec.pinned && !old.pinned) rec.pinned_at = m.now();
    if (!rec.pinned) rec.pinned_at = null;
  }
  return m.update('content', old, rec);
}

/** Adds a provider node to a content item (ALREADY_EXISTS if it is one already). */
export function addProvider(m: Model, cid: unknown, nodeId: unknown): ContentRecord {
  const old = m.requireContent(cid);
  const node = m.requireNode(nodeId, 'provider node');
  if (old.providers.includes(node.id)) throw alreadyExists(`provider of ${show(old.cid)}`, node.id);
  return m.update('content', old, { ...old, providers: [...old.providers, node.id] });
}

/** Removes a provider from a content item (NOT_FOUND if it is not one). */
export function removeProvider(m: Model, cid: unknown, nodeId: unknown): ContentRecord {
  const old = m.requireContent(cid);
  const id = checkId(nodeId, 'provider node id');
  if (!old.providers.includes(id)) throw notFound(`provider of ${show(old.cid)}`, id);
  return m.update('content', old, { ...old, providers: old.providers.filter((p) => p !== id) });
}

/** Removes a content item. */
export function removeContent(m: Model, cid: unknown): void {
  m.remove('content', m.requireContent(cid));
}
