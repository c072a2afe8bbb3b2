/**
 * The one place errors are made. Every failure the library reports is a `StateError` with a
 * stable `code`; its message names the offending value so a log line alone says what was wrong.
 */

/** The error codes of the public contract. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'INVALID_TRANSITION'
  | 'LOCKED'
  | 'CORRUPT'
  | 'CLOSED'
  | 'IO'
  /** The requested revision is older than the retained history, or a held snapshot's memory was taken back: relist. */
  | 'COMPACTED'
  /** The engine or the master did not answer in time. */
  | 'UNAVAILABLE';

/** Every code, for tests and for `instanceof`-free checks across threads. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'NOT_FOUND', 'ALREADY_EXISTS', 'INVALID_ARGUMENT', 'INVALID_TRANSITION', 'LOCKED', 'CORRUPT', 'CLOSED', 'IO',
  'COMPACTED', 'UNAVAILABLE',
];

/**
 * The error type of arrow-cluster-state. A mutation that throws it changed nothing: state and
 * revision are exactly as before the call.
 */
export class StateError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (e.g. the lock holder for `LOCKED`). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StateError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }
}

/** Renders a value for an error message: strings quoted, long values cut, never throws. */
export function show(value: unknown): string {
  let text: string;
  try {
    if (typeof value === 'string') text = JSON.stringify(value);
    else if (typeof value === 'bigint') text = `${value}n`;
    else if (typeof value === 'number' || typeof value === 'boolean' || value == null) text = String(value);
    else if (typeof value === 'function') text = `[function ${value.name || 'anonymous'}]`;
    else if (typeof value === 'symbol') text = value.toString();
    else text = JSON.stringify(value) ?? String(value);
  } catch {
    try {
      text = Object.prototype.toString.call(value);
    } catch {
      text = '[unreadable object]'; // a revoked Proxy throws even here
    }
  }
  text = escapeControls(text);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * `text` with every control character (C0, DEL, C1) written as a `\u` escape, so that an id
 * holding ESC or a newline can never move a terminal's cursor or split a log line. Other text is
 * returned unchanged.
 */
export function escapeControls(text: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(text)
    ? text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : text;
}

/** `INVALID_ARGUMENT`: `what` (e.g. "node.role") had an unacceptable `value`. */
export function invalid(what: string, value: unknown, expected: string): StateError {
  return new StateError('INVALID_ARGUMENT', `${what} must be ${expected}, got ${show(value)}`);
}

/**
 * `INVALID_ARGUMENT`: reading `what` threw (a revoked Proxy, a getter or a Proxy trap that
 * throws); `cause` is what it threw. Inputs are read once into a plain copy, so this is the only
 * way an exotic object's own exception can surface.
 */
export function unreadable(what: string, cause: unknown): StateError {
  let reason: string;
  try {
    reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : show(cause);
  } catch {
    reason = 'an exception';
  }
  return new StateError('INVALID_ARGUMENT', `${what} must be a readable plain value, but reading it threw ${show(reason)}`, { cause });
}

/** `NOT_FOUND`: no `kind` with this id. */
export function notFound(kind: string, id: unknown): StateError {
  return new StateError('NOT_FOUND', `no ${kind} with id ${show(id)}`);
}

/** `ALREADY_EXISTS`: a `kind` with this id is already present. */
export function alreadyExists(kind: string, id: unknown): StateError {
  return new StateError('ALREADY_EXISTS', `a ${kind} with id ${show(id)} already exists`);
}

/** `INVALID_TRANSITION`: the entity cannot go from `from` to `to` (with the reason). */
export function badTransition(kind: string, id: string, from: string, to: string, why?: string): StateError {
  return new StateError(
    'INVALID_TRANSITION',
    `${kind} ${show(id)} cannot go from ${show(from)} to ${show(to)}${why ? `: ${why}` : ''}`,
  );
}

/** `CLOSED`: the object was closed and cannot be used any more. */
export function closed(what: string): StateError {
  return new StateError('CLOSED', `${what} is closed`);
}

/** `CORRUPT`: a file or shared buffer failed a check; `what` says where and how. */
export function corrupt(what: string, cause?: unknown): StateError {
  return new StateError('CORRUPT', what, cause === undefined ? undefined : { cause });
}

/**
 * `COMPACTED`: what `what` names is gone from the retained history — e.g. a held snapshot whose
 * memory the writer took back (`maxRetainedBytes`). The caller should take a new snapshot.
 */
export function compacted(what: string): StateError {
  return new StateError('COMPACTED', what);
}

/** `IO`: an operating-system level failure, with the path and the underlying error. */
export function ioError(action: string, path: string, cause: unknown): StateError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StateError('IO', `${action} ${show(path)} failed: ${reason}`, { cause });
}

/** `IO`: a failure described in full by `message` (e.g. shared memory is full), with its cause if any. */
export function ioFailure(message: string, cause?: unknown): StateError {
  return new StateError('IO', message, cause === undefined ? undefined : { cause });
}

/** `NOT_FOUND`: something other than an entity (a state, a directory, a revision) is not there; `message` says what. */
export function missing(message: string): StateError {
  return new StateError('NOT_FOUND', message);
}

/** `LOCKED`: another writer holds (or took over) the state directory; `message` names the holder. */
export function locked(message: string, options?: { details?: Record<string, unknown>; cause?: unknown }): StateError {
  return new StateError('LOCKED', message, options);
}

/** `INVALID_TRANSITION` described in full by `message` (when it is not a from → to change). */
export function refusedTransition(message: string): StateError {
  return new StateError('INVALID_TRANSITION', message);
}

/** `UNAVAILABLE`: the engine or the master did not answer in time; `message` says which and how long. */
export function unavailable(message: string, cause?: unknown): StateError {
  return new StateError('UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

/**
 * A StateError whose code is chosen by the caller: for errors that crossed a thread or a process
 * as (code, message) — an unknown code becomes IO — and for checks whose code depends on where
 * the value came from (CORRUPT for a file, INVALID_ARGUMENT for an argument).
 */
export function withCode(code: string, message: string): StateError {
  const known = (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'IO';
  return new StateError(known, message.startsWith(`${known}: `) ? message.slice(known.length + 2) : message);
}

/** True when `e` is a StateError (also for errors that crossed a thread as plain objects). */
export function isStateError(e: unknown, code?: ErrorCode): e is StateError {
  if (!(e instanceof Error)) return false;
  const c = (e as { code?: unknown }).code;
  return (e instanceof StateError || e.name === 'StateError') && typeof c === 'string' && (code === undefined || c === code);
}
