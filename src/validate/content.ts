/**
 * Content inputs (new content and updates) turned into records and patches. Each function
 * validates its whole input first and returns new objects; none touches the store.
 */
import type { ContentInput, ContentRecord } from '../schema/records.js';
import { parseSize } from './size.js';
import { checkBool, checkId, checkIdList, checkInt32, checkKeys, checkObject } from './values.js';

const CONTENT_KEYS = ['cid', 'size', 'providers', 'pinned', 'replication'] as const;

/** A complete new content record. Providers are checked against the nodes by the store. */
export function newContentRecord(input: ContentInput | unknown, now: number): ContentRecord {
  const obj = checkObject(input, 'content');
  checkKeys(obj, CONTENT_KEYS, 'content');
  const pinned = obj.pinned === undefined ? false : checkBool(obj.pinned, 'content.pinned');
  return {
    cid: checkId(obj.cid, 'content.cid'),
    size: parseSize(obj.size, 'content.size'),
    created_at: now,
    providers: obj.providers === undefined ? [] : checkIdList(obj.providers, 'content.providers'),
    pinned,
    replication: obj.replication === undefined ? 1 : checkInt32(obj.replication, 'content.replication'),
    pinned_at: pinned ? now : null,
  };
}


/** The fields `updateContent` may change. */
export const CONTENT_UPDATE_KEYS = ['size', 'pinned', 'replication', 'providers'] as const;

/** A validated content update: only the fields given (providers are checked against the nodes by the store). */
export interface ContentPatch {
  size?: number;
  pinned?: boolean;
  replication?: number;
  providers?: string[];
}

/** Validates a whole content update (`what`.field names the offending part); touches nothing. */
export function contentPatch(input: unknown, what = 'patch'): ContentPatch {
  const p = checkObject(input, what);
  checkKeys(p, CONTENT_UPDATE_KEYS, what);
  const out: ContentPatch = {};
  if (p.size !== undefined) out.size = parseSize(p.size, `${what}.size`);
  if (p.replication !== undefined) out.replication = checkInt32(p.replication, `${what}.replication`);
  if (p.providers !== undefined) out.providers = checkIdList(p.providers, `${what}.providers`);
  if (p.pinned !== undefined) out.pinned = checkBool(p.pinned, `${what}.pinned`);
  return out;
}
