/**
 * What a node agent reports about its machine by default: CPU count and load (the 1-minute load
 * average over the cores, as a percentage), memory total and available, disk total and available
 * (the file system of the working directory) — read from the OS at each heartbeat.
 */
import { statfsSync } from 'node:fs';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import type { NodeResourcesInput } from '../schema/records.js';

/** The machine's capacity and load now. */
export function machineResources(): NodeResourcesInput {
  const cpus = Math.max(1, availableParallelism());
  const out: NodeResourcesInput = {
    cpu_count: cpus,
    cpu_load: Math.min(100, Math.round((loadavg()[0]! / cpus) * 1000) / 10),
    memory_total: totalmem(),
    memory_available: Math.min(freemem(), totalmem()),
  };
  try {
    const fs = statfsSync(process.cwd());
    out.disk_total = fs.blocks * fs.bsize;
    out.disk_available = fs.bavail * fs.bsize;
  } catch {
    // no file system figures here: left out (unknown)
  }
  return out;
}

/** The load figures of a report (what a coalesced heartbeat carries). */
export function loadFigures(r: NodeResourcesInput): NodeResourcesInput {
  const out: NodeResourcesInput = {};
  for (const k of ['cpu_load', 'memory_available', 'disk_available', 'gpu_available'] as const) if (r[k] !== undefined) (out as Record<string, unknown>)[k] = r[k];
  return out;
}
