#!/usr/bin/env node
/**
 * The `cluster-state` executable (package.json "bin"; `npm start` runs `cluster-state demo`).
 */
import { installProcessHandlers, run } from './cli.js';

const argv = process.argv.slice(2);
installProcessHandlers(argv.includes('--debug') || process.env.CLUSTER_STATE_DEBUG === '1');
const code = await run(argv);
process.exitCode = code;
// Everything a command opened is closed when it returns; should a library keep a handle open
// by mistake, do not hang: leave once pending output has been written.
setTimeout(() => process.exit(code), 3000).unref();
