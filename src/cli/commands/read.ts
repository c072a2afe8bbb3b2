/**
 * The one-shot read-only subcommands: status, nodes, tasks, content, query, get, export. Each
 * reads one snapshot of the state — of a directory or Parquet file (no lock, no writes), or of a
 * cluster through NATS (`--nats <url> --cluster <id>`) — and answers from it with the helpers.
 */
import { createReadStream, existsSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { METADATA_FILE } from '../../statedir/names.js';
import { missing, show } from '../../errors.js';
import { tmpdir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { outputTarget } from '../../helpers/analysis.js';
import { pipeline } from 'node:stream/promises';
import {
  exportStateToJson, findContentByCid, getClusterStatusSummary, getNodeById,
  getTaskById, getTaskExecutionMetrics, NODE_ROLES, NODE_STATUSES, TASK_STATUSES,
  type ContentRecord, type NodeRecord, type Snapshot, type TaskRecord,
} from '../../index.js';
import {
  choiceOption, intOption, JSON_OPTION, listOption, SOURCE_OPTIONS, textOption, UsageError, type Command, type Context, type OptionSpec,
} from '../command.js';
import { compileQuery, type Plan } from '../../query/plan.js';
import { runPlan } from '../../query/run.js';
import { isStateError, type EntityKind, type Filter, type Query, type QueryResult } from '../../index.js';
import { sortKeys, whereFilter, WHERE_HELP } from '../where.js';
import { ago, bytes, dec, displayPath, duration, int, isoTime, jsonText, printable, printJson, println, table, type Column } from '../format.js';
import { describe, readSource, stateFiles, type StateLocation } from '../state.js';

const DIR_ARG = { name: 'dir', help: 'a state directory (or a state_*.parquet file); or --nats <url> --cluster <id> instead', source: true };
const GiB = 2 ** 30;

// ───────────────────────────── status ─────────────────────────────

export const status: Command = {
  name: 'status',
  summary: 'Print the cluster status summary (nodes, resources, tasks, content).',
  positionals: [DIR_ARG],
  options: { ...JSON_OPTION, ...SOURCE_OPTIONS },
  description: 'Reads the newest durable revision without taking the writer\'s lock (safe while a writer runs).\n'
    + 'With --nats: the newest revision the cluster\'s master has replicated to the server.\n'
    + 'With --json: the getClusterStatusSummary() object plus "revision".',
  examples: [
    'cluster-state status ./.cluster-state',
    'cluster-state status ./.cluster-state --json | jq .tasks.by_status',
    'cluster-state status --nats nats://127.0.0.1:4222 --cluster c1',
  ],
  async run(ctx) {
    const { snap, loc } = await readSource(ctx);
    const s = getClusterStatusSummary(snap);
    if (ctx.values.json) {
      printJson(ctx.io, { ...s, revision: snap.revision });
      return 0;
    }
    const m = getTaskExecutionMetrics(snap);
    const o = ctx.io.out;
    const r = s.nodes.by_role;
    const t = s.tasks.by_status;
    println(o, `cluster    ${printable(s.cluster_id)}   master ${s.master_id === null ? '-' : printable(s.master_id)}`);
    println(o, `revision   ${int(snap.revision)}   updated ${isoTime(s.updated_at)} (${ago(s.updated_at)})`);
    println(o, `nodes      ${int(s.nodes.total)} total, ${int(s.nodes.active)} online   master ${int(r.master)}  worker ${int(r.worker)}  leecher ${int(r.leecher)}`);
    println(o, `resources  ${int(s.resources.cpu_cores)} CPU cores   ${int(s.resources.gpu_cores.total)} GPUs (${int(s.resources.gpu_cores.available)} available)   `
      + `memory ${int(s.resources.memory_gb.available)} of ${int(s.resources.memory_gb.total)} GiB available`);
    println(o, `tasks      ${int(s.tasks.total)} total   pending ${int(t.pending)}  assigned ${int(t.assigned)}  running ${int(t.running)}  `
      + `completed ${int(t.completed)}  failed ${int(t.failed)}  cancelled ${int(t.cancelled)}`);
    println(o, `           completion rate ${dec(m.completion_rate * 100, 1)}%   mean run time ${duration(m.average_execution_time * 1000)}`);
    println(o, `content    ${int(s.content.total)} items, ${bytes(s.content.total_size_gb * GiB)}`);
    if (loc.kind === 'nats') println(o, `source     ${describe(loc)}`);
    else println(o, `files      ${filesLine(loc)}`);
    return 0;
  },
};

function filesLine(loc: StateLocation): string {
  const files = stateFiles(loc);
  return files.length ? files.map((f) => `${f.name} (${bytes(f.bytes)})`).join(', ') : '-';
}

// ───────────────────────────── lists ─────────────────────────────

const LIMIT_OPTION = {
  limit: { type: 'string' as const, value: '<n>', default: '50 for text, all for --json', help: 'print at most n records (0 = all)' },
};

/** The query options every listing takes (docs/queries.md, "On the command line"). */
const QUERY_OPTIONS: Record<string, OptionSpec> = {
  where: { type: 'string', multiple: true, value: '<filter>', help: WHERE_HELP },
  sort: { type: 'string', multiple: true, value: '<fields>', help: 'order by these fields (comma-separated; -field descending; nulls last; ties by id)' },
  ...LIMIT_OPTION,
  cursor: { type: 'string', value: '<cursor>', help: 'the page after the one that printed this cursor' },
  count: { type: 'boolean', help: 'print only how many records match' },
  ...JSON_OPTION,
  ...SOURCE_OPTIONS,
};

/**
 * Lists one table through the query engine: the command's own filter flags and every --where
 * must hold; --sort orders (a page without --sort is in key order), --limit pages, --cursor
 * continues. A bad filter is a usage error quoting it.
 */
async function list<T>(ctx: Context, kind: EntityKind, flags: Record<string, unknown>[], what: string, columns: Column<T>[]): Promise<number> {
  const where = [...flags, ...listOption(ctx, 'where').map((e) => whereFilter(kind, e))];
  const sort = sortKeys(listOption(ctx, 'sort'));
  const limit = ctx.values.count ? 0 : intOption(ctx, 'limit', ctx.values.json ? 0 : 50, 0);
  const cursor = textOption(ctx, 'cursor');
  const query: Query = {
    from: kind,
    ...(where.length ? { where: (where.length === 1 ? where[0] : { and: where }) as Filter } : {}),
    ...(sort.length ? { orderBy: sort } : {}),
    ...(ctx.values.count ? { limit: 0 } : limit > 0 ? { limit } : {}),
    ...(cursor ? { cursor } : {}),
  };
  const { snap, result: r } = await answer(ctx, query, 'flags');
  if (ctx.values.count) {
    if (ctx.values.json) printJson(ctx.io, { cluster_id: snap.clusterId, revision: snap.revision, total: r.total });
    else println(ctx.io.out, String(r.total));
    return 0;
  }
  printListing(ctx, snap, what, { total: r.total, items: r.rows as T[], cursor: r.cursor }, columns);
  return 0;
}

/**
 * The answer to `query` from one snapshot of the command's <dir> (or --nats cluster). A bad query
 * is a usage error (exit 2) naming its part — as the flags wrote it (`where.id.lt`), or as the JSON
 * did (`query.limit`) — raised before the state is read.
 */
async function answer(ctx: Context, query: unknown, from: 'flags' | 'json'): Promise<{ snap: Snapshot; result: QueryResult }> {
  let plan: Plan;
  try {
    plan = compileQuery(query);
  } catch (e) {
    if (!isStateError(e, 'INVALID_ARGUMENT')) throw e;
    const message = e.message.replace(/^INVALID_ARGUMENT: /, '');
    throw new UsageError(from === 'flags' ? message.replace(/^query\./, '') : message);
  }
  const { snap } = await readSource(ctx);
  return { snap, result: runPlan(snap, plan) };
}

interface Listing<T> {
  total: number;
  items: T[];
  cursor: string | null;
}

function printListing<T>(ctx: Context, snap: Snapshot, what: string, list: Listing<T>, columns: Column<T>[]): void {
  if (ctx.values.json) {
    printJson(ctx.io, { cluster_id: snap.clusterId, revision: snap.revision, total: list.total, items: list.items, cursor: list.cursor });
    return;
  }
  if (list.total === 0) {
    println(ctx.io.out, `no ${what} match (revision ${int(snap.revision)})`);
    return;
  }
  if (list.items.length) println(ctx.io.out, table(list.items, columns));
  const shown = list.items.length;
  println(ctx.io.out, list.cursor !== null
    ? `${int(shown)} of ${int(list.total)} ${what} (revision ${int(snap.revision)}); --limit 0 prints all, --cursor ${list.cursor} the next page`
    : shown < list.total
      ? `${int(shown)} of ${int(list.total)} ${what} (revision ${int(snap.revision)}), the last page`
      : `${int(list.total)} ${what} (revision ${int(snap.revision)})`);
}

const NODE_COLUMNS: Column<NodeRecord>[] = [
  { title: 'ID', get: (n) => n.id },
  { title: 'ROLE', get: (n) => n.role },
  { title: 'STATUS', get: (n) => n.status },
  { title: 'CPU', get: (n) => int(n.resources.cpu_count), right: true },
  { title: 'LOAD', get: (n) => (n.resources.cpu_load === null ? '-' : `${dec(n.resources.cpu_load, 0)}%`), right: true },
  { title: 'MEM FREE', get: (n) => memPair(n.resources.memory_available, n.resources.memory_total), right: true },
  { title: 'GPU', get: (n) => (n.resources.gpu_count ? `${n.resources.gpu_count}${n.resources.gpu_available ? '' : ' busy'}` : '-'), right: true },
  { title: 'LAST SEEN', get: (n) => ago(n.last_seen), right: true },
  { title: 'ADDRESS', get: (n) => n.address ?? '-' },
];

function memPair(avail: number | null, total: number | null): string {
  const g = (x: number | null) => (x === null ? '?' : dec(x / GiB, x / GiB >= 10 ? 0 : 1));
  return avail === null && total === null ? '-' : `${g(avail)}/${g(total)} GiB`;
}

const QUERY_EXAMPLES = (kind: string) => [`cluster-state ${kind} ./.cluster-state --where 'resources.cpu_count>=4' --where status=online --sort -last_seen --limit 20`];

export const nodes: Command = {
  name: 'nodes',
  summary: 'List nodes (filters: --role, --status, --capability, --where; --sort, --limit, --cursor).',
  positionals: [DIR_ARG],
  options: {
    role: { type: 'string', value: '<role>', help: `only nodes with this role (${NODE_ROLES.join(', ')})` },
    status: { type: 'string', value: '<status>', help: `only nodes in this status (${NODE_STATUSES.join(', ')})` },
    capability: { type: 'string', value: '<name>', help: 'only nodes with this capability' },
    ...QUERY_OPTIONS,
  },
  examples: [
    'cluster-state nodes ./.cluster-state --role worker --status offline',
    ...QUERY_EXAMPLES('nodes'),
    'cluster-state nodes ./.cluster-state --json --limit 0 | jq -r ".items[].id"',
    'cluster-state nodes --nats nats://127.0.0.1:4222 --cluster c1 --leecher --status online',
  ],
  async run(ctx) {
    const role = choiceOption(ctx, 'role', NODE_ROLES);
    const st = choiceOption(ctx, 'status', NODE_STATUSES);
    const cap = textOption(ctx, 'capability');
    const flags: Record<string, unknown>[] = [];
    if (role) flags.push({ role });
    if (st) flags.push({ status: st });
    if (cap) flags.push({ capabilities: { has: cap } });
    return list(ctx, 'nodes', flags, 'nodes', NODE_COLUMNS);
  },
};

const TASK_COLUMNS: Column<TaskRecord>[] = [
  { title: 'ID', get: (t) => t.id },
  { title: 'TYPE', get: (t) => t.type },
  { title: 'STATUS', get: (t) => t.status },
  { title: 'PRIO', get: (t) => String(t.priority), right: true },
  { title: 'CPU', get: (t) => int(t.resources.cpu_cores), right: true },
  { title: 'MEM MB', get: (t) => int(t.resources.memory_mb), right: true },
  { title: 'TRIES', get: (t) => String(t.attempts), right: true },
  { title: 'UPDATED', get: (t) => ago(t.updated_at), right: true },
  { title: 'ASSIGNED TO', get: (t) => t.assigned_to ?? '-' },
];

export const tasks: Command = {
  name: 'tasks',
  summary: 'List tasks (filters: --status, --type, --node, --where; --sort, --limit, --cursor).',
  positionals: [DIR_ARG],
  options: {
    status: { type: 'string', value: '<status>', help: `only tasks in this status (${TASK_STATUSES.join(', ')})` },
    type: { type: 'string', value: '<type>', help: 'only tasks of this type (e.g. process, model_training)' },
    node: { type: 'string', value: '<node-id>', help: 'only tasks assigned to this node' },
    ...QUERY_OPTIONS,
  },
  examples: [
    'cluster-state tasks ./.cluster-state --status failed --limit 10',
    "cluster-state tasks ./.cluster-state --where status=assigned,running --where 'resources.memory_mb>=4096' --sort -priority,created_at",
    'cluster-state tasks ./.cluster-state --type model_training --status running --json',
    'cluster-state tasks --nats nats://127.0.0.1:4222 --cluster c1 --status failed',
  ],
  async run(ctx) {
    const st = choiceOption(ctx, 'status', TASK_STATUSES);
    const type = textOption(ctx, 'type');
    const node = textOption(ctx, 'node');
    const flags: Record<string, unknown>[] = [];
    if (st) flags.push({ status: st });
    if (type) flags.push({ type });
    if (node) flags.push({ assigned_to: node });
    return list(ctx, 'tasks', flags, 'tasks', TASK_COLUMNS);
  },
};

const CONTENT_COLUMNS: Column<ContentRecord>[] = [
  { title: 'CID', get: (c) => c.cid },
  { title: 'SIZE', get: (c) => bytes(c.size), right: true },
  { title: 'PINNED', get: (c) => (c.pinned ? 'yes' : 'no') },
  { title: 'REPLICAS', get: (c) => `${c.providers.length}/${c.replication}`, right: true },
  { title: 'CREATED', get: (c) => ago(c.created_at), right: true },
];

export const content: Command = {
  name: 'content',
  summary: 'List content items (filters: --provider, --pinned, --where; --sort, --limit, --cursor).',
  positionals: [DIR_ARG],
  options: {
    provider: { type: 'string', value: '<node-id>', help: 'only content this node provides' },
    pinned: { type: 'boolean', help: 'only pinned content' },
    ...QUERY_OPTIONS,
  },
  description: 'REPLICAS shows providers listed / replication wanted.',
  examples: [
    'cluster-state content ./.cluster-state --provider node-000001-12D3KooWxxxxxx1',
    "cluster-state content ./.cluster-state --where 'length(providers)<@replication' --sort -size --count",
    'cluster-state content --nats nats://127.0.0.1:4222 --cluster c1 --pinned --json',
  ],
  async run(ctx) {
    const provider = textOption(ctx, 'provider');
    const flags: Record<string, unknown>[] = [];
    if (provider) flags.push({ providers: { has: provider } });
    if (ctx.values.pinned) flags.push({ pinned: true });
    return list(ctx, 'content', flags, 'content items', CONTENT_COLUMNS);
  },
};

// ───────────────────────────── query ─────────────────────────────

export const query: Command = {
  name: 'query',
  summary: 'Run a query (JSON, docs/queries.md) and print its result as JSON.',
  usage: "query <dir> '<json>'",
  positionals: [DIR_ARG, { name: 'json', help: 'the query, e.g. \'{"from":"tasks","groupBy":"status"}\'' }],
  options: { compact: { type: 'boolean', help: 'print the result on one line' }, ...SOURCE_OPTIONS },
  examples: [
    `cluster-state query ./.cluster-state '{"from":"tasks","groupBy":"status"}'`,
    `cluster-state query ./.cluster-state '{"from":"nodes","where":{"status":"online","resources.cpu_count":{"gte":4}},"select":["id"],"limit":20}'`,
    `cluster-state query --nats nats://127.0.0.1:4222 --cluster c1 '{"from":"tasks","groupBy":"status"}'`,
  ],
  async run(ctx) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(ctx.args.json!);
    } catch (e) {
      throw new UsageError(`<json> must be a query in JSON: ${(e as Error).message}`);
    }
    printJson(ctx.io, (await answer(ctx, parsed, 'json')).result, !!ctx.values.compact);
    return 0;
  },
};

// ───────────────────────────── get ─────────────────────────────

const KINDS: Record<string, 'node' | 'task' | 'content'> = { node: 'node', nodes: 'node', task: 'task', tasks: 'task', content: 'content', cid: 'content' };

/** Fields holding epoch ms / epoch seconds / bytes, for the text rendering. */
const MS_FIELDS = new Set(['last_seen', 'created_at', 'updated_at', 'pinned_at']);
const S_FIELDS = new Set(['started_at', 'completed_at']);
const BYTE_FIELDS = new Set(['memory_total', 'memory_available', 'disk_total', 'disk_available', 'size']);

function renderValue(key: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' && MS_FIELDS.has(key)) return `${isoTime(v)} (${ago(v)})`;
  if (typeof v === 'number' && S_FIELDS.has(key)) return `${isoTime(v * 1000)} (${ago(v * 1000)})`;
  if (typeof v === 'number' && BYTE_FIELDS.has(key)) return `${int(v)} (${bytes(v)})`;
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `${v.map((x) => (typeof x === 'string' ? printable(x) : jsonText(x))).join(', ')}`;
  if (typeof v === 'object') return jsonText(v);
  return printable(String(v));
}

function flatten(rec: Record<string, unknown>): [string, string][] {
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'resources' && v && typeof v === 'object') {
      for (const [rk, rv] of Object.entries(v)) rows.push([`resources.${rk}`, renderValue(rk, rv)]);
    } else {
      rows.push([k, renderValue(k, v)]);
    }
  }
  return rows;
}

export const get: Command = {
  name: 'get',
  summary: 'Print one node, task or content item.',
  usage: 'get node|task|content <dir> <id>',
  positionals: [
    { name: 'kind', help: 'node, task or content' },
    DIR_ARG,
    { name: 'id', help: 'the node id, task id or CID' },
  ],
  options: { ...JSON_OPTION, ...SOURCE_OPTIONS },
  description: 'Exits with 1 (NOT_FOUND) when there is no such record. With --json: the record as the helpers return it.',
  examples: [
    'cluster-state get node ./.cluster-state node-000001-12D3KooWxxxxxx1',
    'cluster-state get task ./.cluster-state task-00000042 --json',
    'cluster-state get task --nats nats://127.0.0.1:4222 --cluster c1 task-00000042',
  ],
  async run(ctx) {
    const kind = KINDS[ctx.args.kind!];
    if (!kind) throw new UsageError(`<kind> must be node, task or content, got ${show(ctx.args.kind)}`);
    const id = ctx.args.id!;
    const { snap, loc } = await readSource(ctx);
    const rec = kind === 'node' ? getNodeById(snap, id) : kind === 'task' ? getTaskById(snap, id) : findContentByCid(snap, id);
    if (rec === null) {
      const what = kind === 'content' ? 'content item with CID' : `${kind} with id`;
      throw missing(`no ${what} ${show(id)} in ${describe(loc)} (revision ${snap.revision})`);
    }
    if (ctx.values.json) {
      printJson(ctx.io, rec);
      return 0;
    }
    const rows = flatten(rec as unknown as Record<string, unknown>);
    const w = Math.max(...rows.map(([k]) => k.length));
    println(ctx.io.out, `${kind} ${printable(id)}   (revision ${int(snap.revision)})`);
    for (const [k, v] of rows) if (k !== 'id' && k !== 'cid') println(ctx.io.out, `  ${k.padEnd(w)}  ${v}`);
    return 0;
  },
};

// ───────────────────────────── export ─────────────────────────────

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export const exportCmd: Command = {
  name: 'export',
  summary: 'Write the whole state as JSON (- for stdout).',
  usage: 'export <dir> <out.json>',
  positionals: [DIR_ARG, { name: 'out.json', help: 'the file to write (replaced atomically), or - for stdout' }],
  options: { ...JSON_OPTION, ...SOURCE_OPTIONS },
  description: 'Times are ISO-8601 UTC text; JSON fields (payload, result, metadata) are JSON values.\n'
    + 'The output must not be inside the state directory (read-only commands never write there).\n'
    + 'With --json: a JSON report of what was written.',
  examples: [
    'cluster-state export ./.cluster-state state.json',
    'cluster-state export ./.cluster-state - | jq ".tasks | length"',
    'cluster-state export --nats nats://127.0.0.1:4222 --cluster c1 state.json',
  ],
  async run(ctx) {
    const outArg = ctx.args['out.json']!;
    const { snap, loc } = await readSource(ctx);
    const counts = { nodes: snap.nodes.numRows, tasks: snap.tasks.numRows, content: snap.content.numRows };
    if (outArg === '-') {
      const tmp = mkdtempSync(join(tmpdir(), 'cluster-state-export-'));
      try {
        const file = join(tmp, 'state.json');
        exportStateToJson(snap, file);
        await pipeline(createReadStream(file), ctx.io.out, { end: false });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return 0;
    }
    const target = outputTarget(outArg);
    const out = target.path;
    // A Parquet file inside a state directory guards it too; a cluster read through NATS has no directory here.
    const guarded = loc.kind === 'dir' || (loc.kind === 'file' && existsSync(join(loc.dir, METADATA_FILE)));
    if (guarded && inside(out, realpathSync(loc.dir))) {
      throw new UsageError(`refusing to write ${show(outArg)} (${displayPath(out)}) inside the state directory ${displayPath(loc.dir)}; choose another path`);
    }
    exportStateToJson(snap, out);
    const size = target.regular ? statSync(out).size : 0;
    if (ctx.values.json) {
      printJson(ctx.io, { path: out, cluster_id: snap.clusterId, revision: snap.revision, bytes: size, ...counts });
    } else {
      println(ctx.io.out, `wrote ${printable(displayPath(out))}: revision ${int(snap.revision)} of cluster ${printable(snap.clusterId)}, `
        + `${int(counts.nodes)} nodes, ${int(counts.tasks)} tasks, ${int(counts.content)} content items (${bytes(size)})`);
    }
    return 0;
  },
};
