/** Friendly input aliases (`cpu` for `cpu_count`, ...): one of the pair, never both. */
import { invalid } from '../errors.js';

/** One friendly alias and the schema field it stands for. */
export function alias(obj: Record<string, unknown>, friendly: string, field: string, what: string): unknown {
  if (obj[friendly] !== undefined && obj[field] !== undefined) {
    throw invalid(`${what}.${friendly}`, obj[friendly], `given alone (${what}.${field} is also given)`);
  }
  return obj[friendly] !== undefined ? obj[friendly] : obj[field];
}

