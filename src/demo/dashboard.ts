/**
 * The demo's dashboard (docs/dashboard.md): served while the demo runs, on 127.0.0.1 at the
 * usual port (9464) or, when that is taken, any free one — the demo never fails for want of it.
 */
import { startDashboard, type Dashboard } from '../dashboard/server.js';
import type { DashboardSource } from '../dashboard/source.js';

/** The port the demo asks for first (serve's default). */
export const DEMO_DASHBOARD_PORT = 9464;

/** Starts the dashboard over `source` (read-only); `port` 0 = any free port. Warnings go to `warn`. */
export async function demoDashboard(source: DashboardSource, label: string, port: number | null, warn: (msg: string) => void): Promise<Dashboard> {
  const start = (p: number) => startDashboard({ source, host: '127.0.0.1', port: p, label, onWarning: warn });
  if (port !== null) return start(port);
  try {
    return await start(DEMO_DASHBOARD_PORT);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    return start(0);
  }
}
