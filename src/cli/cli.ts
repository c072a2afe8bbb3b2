/**
 * The `cluster-state` command: dispatches to the subcommands, prints help, and turns every error
 * into one line on stderr and an exit code (0 ok, 1 failure, 2 usage error). Stack traces only
 * with --debug (or CLUSTER_STATE_DEBUG=1).
 */
import { readFileSync } from 'node:fs';
import { escapeControls, show } from '../errors.js';
import {
  CliFailure, commandHelp, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseCommand, UsageError, wantsHelp,
  type Command, type Io,
} from './command.js';
import { content, exportCmd, get, nodes, query, status, tasks } from './commands/read.js';
import { follow, watch } from './commands/watch.js';
import { metrics } from './commands/metrics.js';
import { serve } from './commands/serve.js';
import { demo } from './commands/demo.js';
import { agent } from './commands/agent.js';
import { master } from './commands/master.js';

export const PROGRAM = 'cluster-state';

export const COMMANDS: Command[] = [demo, status, nodes, tasks, content, query, get, exportCmd, watch, metrics, serve, master, agent, follow];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function mainHelp(): string {
  const visible = COMMANDS.filter((c) => !c.hidden);
  const usage = (c: Command) => c.usage ?? [c.name, ...c.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`))].join(' ');
  const w = Math.max(...visible.map((c) => usage(c).length));
  return [
    `${PROGRAM}: look into an arrow-cluster-state directory or a cluster replicated through NATS, or run a demo cluster.`,
    '',
    `Usage: ${PROGRAM} <command> [arguments] [options]`,
    '',
    'Commands:',
    ...visible.map((c) => `  ${usage(c).padEnd(w)}  ${c.summary}`),
    '',
    `Run '${PROGRAM} <command> --help' for the options of a command.`,
    '<dir> is a state directory (a writer\'s statePath) or a state_*.parquet file. Commands that read',
    'never take the writer\'s lock and never write to the state directory: run them while a writer runs.',
    'Instead of <dir>, each of them takes --nats <url> --cluster <id> (and --leecher for the leecher',
    'projection): it reads the cluster its master replicates to that NATS server, from any machine.',
    '',
    'Options: -h, --help   -V, --version   --debug (stack traces)',
    'Exit codes: 0 ok, 1 failure (NOT_FOUND, CORRUPT, LOCKED, IO, ...), 2 usage error.',
    '',
  ].join('\n');
}

/** One line for an error message (multi-line messages are joined, other control characters escaped). */
function oneLine(text: string): string {
  return escapeControls(text.replace(/\s*\n\s*/g, ' ').trim());
}

function report(io: Io, e: unknown, debug: boolean, cmd: string | undefined): number {
  const where = cmd ? `${PROGRAM} ${cmd}` : PROGRAM;
  if (e instanceof UsageError) {
    const hint = cmd ? `${PROGRAM} ${cmd} --help` : `${PROGRAM} --help`;
    io.err.write(`${where}: ${oneLine(e.message)} (see '${hint}')\n`);
    if (debug && e.stack) io.err.write(`${e.stack}\n`);
    return EXIT_USAGE;
  }
  const err = e as { name?: string; code?: unknown; message?: string; stack?: string; cause?: unknown };
  const message = e instanceof Error ? err.message ?? String(e) : String(e);
  const isState = err?.name === 'StateError' && typeof err.code === 'string';
  const prefix = isState || e instanceof CliFailure ? '' : 'error: ';
  io.err.write(`${where}: ${prefix}${oneLine(message)}\n`);
  if (debug) {
    if (err?.stack) io.err.write(`${err.stack}\n`);
    let cause = err?.cause as { stack?: string } | undefined;
    while (cause) {
      io.err.write(`caused by: ${cause.stack ?? String(cause)}\n`);
      cause = (cause as { cause?: { stack?: string } }).cause;
    }
  }
  return EXIT_FAILURE;
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function run(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const debug = argv.includes('--debug') || process.env.CLUSTER_STATE_DEBUG === '1';
  const first = argv[0];
  if (first === undefined) {
    io.err.write(mainHelp());
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h') {
    io.out.write(mainHelp());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    io.out.write(`${version()}\n`);
    return EXIT_OK;
  }
  if (first === 'help') {
    const topic = argv[1];
    if (topic === undefined) {
      io.out.write(mainHelp());
      return EXIT_OK;
    }
    const c = COMMANDS.find((x) => x.name === topic);
    if (!c) return report(io, new UsageError(`unknown command ${show(topic)}`), debug, undefined);
    io.out.write(commandHelp(c, PROGRAM));
    return EXIT_OK;
  }
  if (first.startsWith('-')) {
    const rest = argv.filter((a) => a !== '--debug');
    if (rest.length === 0) {
      io.err.write(mainHelp());
      return EXIT_USAGE;
    }
    return report(io, new UsageError(rest[0]!.startsWith('-') ? `unknown option ${rest[0]} (a command comes first)` : 'a command comes first'), debug, undefined);
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) return report(io, new UsageError(`unknown command ${show(first)}`), debug, undefined);
  const args = argv.slice(1);
  if (wantsHelp(args)) {
    io.out.write(commandHelp(cmd, PROGRAM));
    return EXIT_OK;
  }
  try {
    const parsed = parseCommand(cmd, args);
    return await cmd.run({ values: parsed.values, args: parsed.args, io, debug });
  } catch (e) {
    return report(io, e, debug, cmd.name);
  }
}

/** Installs last-resort handlers so that nothing escapes as a stack trace (unless --debug). */
export function installProcessHandlers(debug: boolean): void {
  const die = (e: unknown) => {
    report({ out: process.stdout, err: process.stderr }, e, debug, undefined);
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  // A reader that goes away (| head) ends the output quietly.
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_OK);
      die(e);
    });
  }
}
