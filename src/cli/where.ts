/**
 * The command line's filters: `--where 'resources.cpu_count>=4'`, `--where status=online,degraded`,
 * `--where 'length(providers)<@replication'`, `--sort -last_seen,id` — turned into the query
 * language (docs/queries.md) using the field's type to read the value. Every problem is a
 * UsageError quoting the expression.
 */
import { parseSize } from '../validate/size.js';
import { catalogue, fieldNames, type Field } from '../query/fields.js';
import type { EntityKind } from '../schema/entities.js';
import { show } from '../errors.js';
import { UsageError } from './command.js';

/** Operators, longest first so that `>=` is not read as `>`. */
const OPS = ['>=', '<=', '!=', '^=', '=', '<', '>', '~'] as const;
type Op = (typeof OPS)[number];
const TESTS: Record<Op, string> = { '>=': 'gte', '<=': 'lte', '!=': 'ne', '^=': 'prefix', '=': 'eq', '<': 'lt', '>': 'gt', '~': 'has' };

/** The help text describing `--where`. */
export const WHERE_HELP = 'a filter FIELD OP VALUE, repeatable (all must hold): OP is = != < <= > >= ^= (prefix) ~ (list holds); '
  + 'a=x,y means one of; VALUE null, true/false, a number or size (4GiB), an ISO time, @field (another field), or text ("quoted" to keep commas)';

/** One `--where` expression as a filter object; errors name it as `label` (the dashboard's API says `where`). */
export function whereFilter(kind: EntityKind, expr: string, label = '--where'): Record<string, unknown> {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*|length\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\))\s*(>=|<=|!=|\^=|=|<|>|~)\s*(.*?)\s*$/s.exec(expr);
  const bad = (why: string) => new UsageError(`${label} ${show(expr)}: ${why}`);
  if (!m) throw bad('expected FIELD OP VALUE, such as status=online or resources.cpu_count>=4');
  const name = m[1]!.replace(/\s+/g, '');
  const f = catalogue(kind).get(name);
  if (!f) throw bad(`${kind} have no field ${show(name)} (fields: ${fieldNames(kind).join(', ')})`);
  const op = m[2] as Op;
  const text = m[3]!;
  if (text.startsWith('@')) return { [f.path]: { [TESTS[op]]: { field: text.slice(1) } } };
  const parts = (op === '=' || op === '!=' || op === '~') && !text.startsWith('"') && text.includes(',') ? text.split(',') : null;
  if (parts) {
    const values = parts.map((p) => value(f, p.trim(), bad));
    if (op === '~' || f.type === 'list') {
      if (op === '!=') return { not: { [f.path]: { hasAny: values } } };
      return { [f.path]: { hasAny: values } };
    }
    return { [f.path]: { [op === '=' ? 'in' : 'nin']: values } };
  }
  return { [f.path]: { [TESTS[op]]: value(f, text, bad) } };
}

/** A value for field f from its command-line text. */
function value(f: Field, text: string, bad: (why: string) => UsageError): unknown {
  if (text === 'null') return null;
  if (text.startsWith('"')) {
    try {
      const s = JSON.parse(text) as unknown;
      if (typeof s === 'string') return s;
    } catch {
      // reported below
    }
    throw bad(`${text} is not a JSON string`);
  }
  if (f.type === 'bool') {
    if (text === 'true' || text === 'false') return text === 'true';
    throw bad(`${f.path} is a boolean: give true or false, got ${show(text)}`);
  }
  if (f.type === 'num') {
    if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
    if (f.time && /^\d{4}-\d{2}-\d{2}/.test(text)) return text;
    if (/^\d+(\.\d+)?\s*[A-Za-z]+$/.test(text)) {
      try {
        return parseSize(text, f.path);
      } catch {
        // reported below
      }
    }
    throw bad(`${f.path} is a number: give a number${f.time ? ', an ISO time' : ', a size such as 4GiB'} or null, got ${show(text)}`);
  }
  return text;
}

/** `--sort a,-b` (repeatable) as an orderBy list. */
export function sortKeys(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}
