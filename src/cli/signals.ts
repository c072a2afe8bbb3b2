/**
 * Waiting for Ctrl-C (SIGINT) or SIGTERM, or for the command itself to finish.
 */

export interface Stopper {
  /** Resolves with the reason: the signal name, or what the command passed to `resolve`. */
  promise: Promise<string>;
  resolve(reason: string): void;
  reject(error: unknown): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

/** A stop condition that SIGINT and SIGTERM fulfil (once; a second signal is handled by the caller or the default). */
export function untilSignal(): Stopper {
  let resolveP!: (r: string) => void;
  let rejectP!: (e: unknown) => void;
  let settled = false;
  const promise = new Promise<string>((res, rej) => {
    resolveP = res;
    rejectP = rej;
  });
  const onSignal = (sig: NodeJS.Signals) => stopper.resolve(sig);
  const stopper: Stopper = {
    promise,
    resolve(reason) {
      if (settled) return;
      settled = true;
      resolveP(reason);
    },
    reject(error) {
      if (settled) return;
      settled = true;
      rejectP(error);
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return stopper;
}
