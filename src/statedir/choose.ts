/**
 * Which revision of a state directory to use: a pure decision over the arena files' headers and
 * the metadata, shared by the writer's recovery and every reader (followers, one-shot reads, the
 * command line), so that they can never disagree about what is durable.
 *
 * The rules, in order:
 * 1. Only the newest generation that was ever committed counts. A newer file holding only
 *    claims (or nothing: 0 bytes) is an interrupted takeover or compaction — nothing in it was
 *    acknowledged — and the generation below it is used.
 * 2. A committed file whose header is damaged is CORRUPT: shorter than its header, both slots
 *    invalid or zeroed, or a durable mark with no valid slot.
 * 3. What was acknowledged must be there: the arena file's durable mark (the newest acknowledged
 *    checkpoint), the journal's mark and `state_metadata.json`'s `version` — the journal replayed
 *    onto the chosen checkpoint must reach all of them (replay.ts), else CORRUPT (for the writer,
 *    unless `recoverOlder`). A damaged newest checkpoint is no loss when the journal bridges the
 *    older one to what was acknowledged.
 * 4. The writer recovers from the newest valid slot (a slot past the mark was synced before its
 *    crash). Readers take the newest valid slot at or below the mark, else the older valid slot:
 *    never a checkpoint that is not yet durable.
 */
import { corrupt, type StateError, show } from '../errors.js';
import type { ArenaHead, MetaSlot } from './meta-slot.js';
import { DATA_START } from './meta-slot.js';

/** Who decides: the writer recovering (takes every synced slot) or a reader (stays within the durable bound). */
export type ChoicePolicy = 'writer' | 'reader';

/** The outcome for one arena file. */
export type SlotChoice =
  /** `mark`: the checkpoint the file's durable mark says was acknowledged (-1: none). */
  | { kind: 'revision'; slot: MetaSlot; mark: number }
  /** Never committed: an interrupted creation; nothing in it was acknowledged. */
  | { kind: 'uncommitted' }
  | { kind: 'damaged'; error: StateError };

/** Decides which revision of one arena file to use (rules 2 and 4 of the file comment). */
export function chooseSlot(file: string, head: ArenaHead, policy: ChoicePolicy): SlotChoice {
  const damaged = (why: string): SlotChoice => ({ kind: 'damaged', error: corrupt(`arena file ${show(file)}: ${why}`) });
  if (head.size === 0) return { kind: 'uncommitted' };
  if (head.size < DATA_START) return damaged(`${head.size} bytes is shorter than its ${DATA_START}-byte header (truncated?)`);
  const valid = head.slots.filter((s): s is MetaSlot => typeof s === 'object' && 'revision' in s && s.generation === head.generation)
    .sort((a, b) => b.revision - a.revision);
  const claims = head.slots.filter((s) => typeof s === 'object' && 'claim' in s).length;
  const mark = typeof head.mark === 'object' && head.mark.generation === head.generation ? head.mark.revision : -1;
  if (valid.length === 0) {
    if (mark >= 0) return damaged(`its durable mark says revision ${mark} was acknowledged, but neither meta slot is valid`);
    if (claims > 0 && !head.slots.includes('empty')) return { kind: 'uncommitted' };
    if (head.slots.every((s) => s === 'empty')) return damaged('both meta slots are zeroed');
    return damaged('neither meta slot is valid (bad magic, format or checksum)');
  }
  if (policy === 'writer') return { kind: 'revision', slot: valid[0]!, mark };
  if (mark < 0) {
    // No durable bound yet: the first commit of this file is not acknowledged until its mark is written.
    if (valid.length === 1 && claims === 1) return { kind: 'uncommitted' };
    return { kind: 'revision', slot: valid[valid.length - 1]!, mark };
  }
  return { kind: 'revision', slot: valid.find((s) => s.revision <= mark) ?? valid[valid.length - 1]!, mark };
}

/** What the metadata says, as far as the choice needs it. */
export interface MetadataFacts {
  /** `version` and `arena_generation` of a metadata file written by this library, else null. */
  version: number | null;
  generation: number | null;
}

function missingGeneration(meta: MetadataFacts, pathOf: (generation: number) => string, g: number | null): StateError {
  return corrupt(`state_metadata.json says revision ${meta.version} is durable in ${show(pathOf(meta.generation!))}, which is ${g === null ? 'missing' : 'missing or was never committed'}`);
}

/**
 * A metadata file is written only after its generation committed: naming a newer one than the
 * newest generation present (`generations`, descending) means that file is gone (CORRUPT).
 */
export function checkMetadataGeneration(generations: number[], pathOf: (generation: number) => string, meta: MetadataFacts): void {
  if (meta.generation !== null && (generations.length === 0 || meta.generation > generations[0]!)) throw missingGeneration(meta, pathOf, null);
}

/**
 * The generation to use among `generations` (descending) — rule 1 — with the choice for it.
 * `headOf` reads a file's header. Returns null when no generation was ever committed.
 */
export function chooseGeneration(
  generations: number[],
  pathOf: (generation: number) => string,
  headOf: (generation: number) => ArenaHead,
  policy: ChoicePolicy,
  meta: MetadataFacts,
): { generation: number; choice: SlotChoice & { kind: 'revision' | 'damaged' } } | null {
  const missing = (g: number | null) => missingGeneration(meta, pathOf, g);
  checkMetadataGeneration(generations, pathOf, meta);
  for (const g of generations) {
    // What was acknowledged (the mark, the metadata's version) may lie past the chosen checkpoint
    // — the journal holds the rest — so it is checked after the journal is replayed (replay.ts).
    const choice = chooseSlot(pathOf(g), headOf(g), policy);
    if (choice.kind === 'uncommitted') continue;
    if (meta.generation !== null && meta.generation > g) throw missing(g);
    return { generation: g, choice };
  }
  if (meta.version !== null) {
    throw corrupt(`state_metadata.json says revision ${meta.version} is durable, but the directory holds no committed arena file${generations.length ? ` (${generations.map((g) => show(pathOf(g))).join(', ')} never committed)` : ''}`);
  }
  return null;
}
