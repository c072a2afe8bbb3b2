/**
 * The command-line framework of `cluster-state`: subcommand specifications, strict argument
 * parsing with node's util.parseArgs, generated `--help`, and the error types that decide the
 * exit code (0 ok, 1 failure, 2 usage error).
 */
import { parseArgs } from 'node:util';
import { show } from '../errors.js';

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A usage error: wrong subcommand, flag, value or number of arguments (exit code 2). */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the command reports in one line (exit code 1), e.g. a record that is not there. */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of the value in help, e.g. `<n>`. */
  value?: string;
  /** Shown in help; the parser itself never fills defaults (commands do, so they can tell "given"). */
  default?: string;
  help: string;
  hidden?: boolean;
  /** May be given more than once (its value is then an array of strings). */
  multiple?: boolean;
}

export interface PositionalSpec {
  name: string;
  help: string;
  optional?: boolean;
  /**
   * The state to read (a directory or a Parquet file): left out when the command is given
   * `--nats <url> --cluster <id>` instead (the command then has SOURCE_OPTIONS).
   */
  source?: boolean;
}

/** Where output goes: stdout and stderr (tests may pass their own). */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Context {
  /** The parsed options (strings and booleans as given; absent when not given). */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments by name. */
  args: Record<string, string | undefined>;
  io: Io;
  debug: boolean;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage line after `cluster-state ` (without options). */
  usage?: string;
  /** Paragraphs printed under the usage line. */
  description?: string;
  positionals: PositionalSpec[];
  options: Record<string, OptionSpec>;
  examples?: string[];
  /** Not listed in the main help (internal subcommands). */
  hidden?: boolean;
  run(ctx: Context): Promise<number>;
}

/** Options every subcommand accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help and exit' },
  debug: { type: 'boolean', help: 'print stack traces of errors' },
};

export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print JSON instead of text' },
};

/**
 * The options of a command that reads a state: `--nats <url> --cluster <id> [--leecher]` instead
 * of its source positional (<dir>) read the cluster through NATS JetStream (state.ts sourceOf).
 */
export const SOURCE_OPTIONS: Record<string, OptionSpec> = {
  nats: { type: 'string', value: '<url>', help: 'instead of <dir>: read the cluster through this NATS server (nats://host:port; with --cluster)' },
  cluster: { type: 'string', value: '<id>', help: 'with --nats: the id of the cluster to read' },
  leecher: { type: 'boolean', help: 'with --nats: read the leecher projection (nodes and content, no tasks)' },
};

/** What --nats is used with, for messages. */
export const NATS_SOURCE = '--nats <url> --cluster <id>';

/** True when `args` asks for help (before a `--` terminator). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Parses `args` for `cmd` strictly; every problem is a UsageError naming the offending word. */
export function parseCommand(cmd: Command, args: string[]): { values: Context['values']; args: Context['args'] } {
  const options = { ...COMMON_OPTIONS, ...cmd.options };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(options)) config[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinDashValues(args, options), options: config, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(parseErrorMessage(e, options), cmd.name);
  }
  const values: Context['values'] = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (Array.isArray(v) && !options[k]?.multiple) throw new UsageError(`--${k} given more than once`, cmd.name);
    values[k] = v as string | boolean | string[];
  }
  const positionals = sourcePositionals(cmd, values, parsed.positionals.length);
  const required = positionals.filter((p) => !p.optional).length;
  const pos = parsed.positionals;
  if (pos.length < required) {
    const missing = positionals[pos.length]!;
    const instead = missing.source && 'nats' in cmd.options ? ` (or ${NATS_SOURCE})` : '';
    throw new UsageError(`missing <${missing.name}>${instead}`, cmd.name);
  }
  if (pos.length > positionals.length) {
    throw new UsageError(`unexpected argument ${show(pos[positionals.length])}`, cmd.name);
  }
  const named: Context['args'] = {};
  positionals.forEach((p, i) => {
    const v = pos[i];
    if (v !== undefined && v.length === 0) throw new UsageError(`<${p.name}> must not be empty`, cmd.name);
    named[p.name] = v;
  });
  return { values, args: named };
}

/**
 * The positionals `cmd` takes given its options: without the source positional when --nats names
 * the source. A UsageError when the NATS options do not go together (--nats without --cluster,
 * --cluster or --leecher without --nats) or when both a source positional and --nats are given.
 */
function sourcePositionals(cmd: Command, values: Context['values'], given: number): PositionalSpec[] {
  // Only the commands that read a source (a positional or --nats) pair --nats with --cluster.
  if (!('nats' in cmd.options) || !cmd.positionals.some((p) => p.source)) return cmd.positionals;
  const nats = values.nats !== undefined;
  if (nats && values.cluster === undefined) throw new UsageError(`--nats needs --cluster <id> (the cluster to read)`, cmd.name);
  if (!nats && values.cluster !== undefined) throw new UsageError(`--cluster needs --nats <url> (the NATS server to read it through)`, cmd.name);
  if (!nats && values.leecher !== undefined) throw new UsageError(`--leecher needs ${NATS_SOURCE}`, cmd.name);
  if (!nats) return cmd.positionals;
  const rest = cmd.positionals.filter((p) => !p.source);
  if (given > rest.length && given <= cmd.positionals.length) {
    const src = cmd.positionals.find((p) => p.source)!;
    throw new UsageError(`give either <${src.name}> or ${NATS_SOURCE}, not both`, cmd.name);
  }
  return rest;
}

/**
 * `--sort -last_seen`: a string option's value may start with a dash (a descending order, a
 * negative number) — given as `--sort=-last_seen` to util.parseArgs, which would otherwise read
 * it as an option. A word that is one of the command's options stays an option.
 */
function joinDashValues(args: string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  const isOption = (w: string) => /^--?[A-Za-z]/.test(w) && (w.startsWith('--') ? w.slice(2).split('=')[0]! in options : Object.values(options).some((o) => o.short === w.slice(1)));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && next !== undefined && next.startsWith('-') && next.length > 1 && !isOption(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A short message for util.parseArgs errors (its own messages are long and suggest `--`). */
function parseErrorMessage(e: unknown, options: Record<string, OptionSpec>): string {
  const err = e as { code?: string; message?: string };
  const quoted = /'([^']*)'/.exec(err.message ?? '')?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '--limit <value>' argument missing" or "Option '--json' does not take an argument"
      const name = quoted?.split(' ')[0] ?? '';
      const spec = options[name.replace(/^--?/, '')] ?? Object.values(options).find((o) => `-${o.short}` === name);
      if (spec?.type === 'boolean' || /does not take/.test(err.message ?? '')) return `option ${name} does not take a value`;
      return `option ${name} needs a value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ?? ''}`.trim();
    default:
      return err.message ?? String(e);
  }
}

/** An integer option (or `fallback` when absent) within [min, max]; a UsageError otherwise. */
export function intOption(ctx: Context, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = ctx.values[name];
  if (v === undefined) return fallback;
  return parseInteger(String(v), `--${name}`, min, max);
}

/** A number option (decimals allowed) within [min, max]. */
export function numberOption(ctx: Context, name: string, fallback: number, min = 0, max = Number.MAX_VALUE): number {
  const v = ctx.values[name];
  if (v === undefined) return fallback;
  const text = String(v).trim();
  const n = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max === Number.MAX_VALUE ? 'any' : max}, got ${show(v)}`);
  }
  return n;
}

export function parseInteger(text: string, what: string, min: number, max: number): number {
  const t = text.trim().replace(/_/g, '');
  const n = /^[+]?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${what} must be a whole number ${range}, got ${show(text)}`);
  }
  return n;
}

/** A string option that must be one of `allowed`. */
export function choiceOption(ctx: Context, name: string, allowed: readonly string[]): string | undefined {
  const v = ctx.values[name];
  if (v === undefined) return undefined;
  const s = String(v);
  if (!allowed.includes(s)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${show(s)}`);
  return s;
}

/** A repeatable string option's values ([] when absent); none may be empty. */
export function listOption(ctx: Context, name: string): string[] {
  const v = ctx.values[name];
  const list = v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
  if (list.some((s) => s.length === 0)) throw new UsageError(`--${name} must not be empty`);
  return list;
}

/** A string option that, when given, must not be empty. */
export function textOption(ctx: Context, name: string): string | undefined {
  const v = ctx.values[name];
  if (v === undefined) return undefined;
  const s = String(v);
  if (s.length === 0) throw new UsageError(`--${name} must not be empty`);
  return s;
}

// ───────────────────────────── help ─────────────────────────────

function optionLabel(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}`;
  return o.type === 'string' ? `${flag} ${o.value ?? '<value>'}` : flag;
}

/** The `--help` text of one subcommand. */
export function commandHelp(cmd: Command, program: string): string {
  const lines: string[] = [];
  const usage = cmd.usage ?? [cmd.name, ...cmd.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`))].join(' ');
  lines.push(`Usage: ${program} ${usage} [options]`, '', cmd.summary);
  if (cmd.description) lines.push('', ...cmd.description.split('\n'));
  if (cmd.positionals.length) {
    lines.push('', 'Arguments:');
    const w = Math.max(...cmd.positionals.map((p) => p.name.length + 2));
    for (const p of cmd.positionals) lines.push(`  ${`<${p.name}>`.padEnd(w)}  ${p.help}`);
  }
  const opts = Object.entries({ ...cmd.options, ...COMMON_OPTIONS }).filter(([, o]) => !o.hidden);
  lines.push('', 'Options:');
  const w = Math.max(...opts.map(([n, o]) => optionLabel(n, o).length));
  for (const [n, o] of opts) {
    const def = o.default !== undefined ? ` (default: ${o.default})` : '';
    lines.push(`  ${optionLabel(n, o).padEnd(w)}  ${o.help}${def}`);
  }
  if (cmd.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of cmd.examples) lines.push(`  ${e}`);
  }
  lines.push('', 'Exit codes: 0 ok, 1 failure (e.g. NOT_FOUND, CORRUPT, LOCKED), 2 usage error.');
  return `${lines.join('\n')}\n`;
}
