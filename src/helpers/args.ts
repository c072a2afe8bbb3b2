/**
 * Argument checks of the helpers: a malformed argument is INVALID_ARGUMENT naming the value;
 * a well-formed one that matches nothing is simply not found (null / []).
 */
import { invalid } from '../errors.js';
import type { TaskResources } from '../schema/records.js';
import { taskResources } from '../validate/tasks.js';
import { checkObject, checkOptions } from '../validate/values.js';

/** A non-empty string (an id, role, status, type, capability, CID or provider). */
export function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(what, value, 'a non-empty string');
  // A lone surrogate is no string a record can hold (ids are valid Unicode): asking for one is a bad argument, not "not found".
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) throw invalid(what, value, 'well-formed Unicode (it holds a lone surrogate)');
  return value;
}

/**
 * Resource requirements: `{ cpu_cores, gpu_cores, memory_mb }` or the friendly
 * `{ cpu, gpu, memory: '4GB' }` (memory rounded up to whole MiB). Negative numbers, fractions
 * and unparsable sizes are INVALID_ARGUMENT. Unstated fields are null.
 */
export function requirements(value: unknown, what = 'requirements'): TaskResources {
  if (value === undefined || value === null) return { cpu_cores: null, gpu_cores: null, memory_mb: null };
  return taskResources(checkObject(value, what), what)!;
}

/** An options object with only the given keys (undefined → {}): checkOptions, the shared check. */
export function options(value: unknown, keys: readonly string[], what = 'options'): Record<string, unknown> {
  return checkOptions(value, keys, what);
}

/** An epoch-ms instant (for `now` options). */
export function instant(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(what, value, 'epoch milliseconds (a finite number)');
  return value;
}
