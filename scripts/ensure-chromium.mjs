#!/usr/bin/env node
// The test command's setup step: the dashboard tests drive a real headless Chromium (Debian
// package `chromium`) through playwright-core. When it is missing and this runs as root on
// Debian, it is installed with apt-get; otherwise this fails with a message naming the command —
// the tests never skip. The browser's path is what test/dashboard/browser.ts launches
// (CHROMIUM_PATH overrides it).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const INSTALL = 'apt-get install -y --no-install-recommends chromium';
const PATHS = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const found = () => PATHS.some((p) => existsSync(p) && spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0);

if (!found()) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (process.env.CHROMIUM_PATH || !root || !apt) {
    const why = process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not run` : root ? 'no apt-get' : 'not root';
    console.error(`chromium is not installed and cannot be installed from here (${why}).\nInstall it with: sudo ${INSTALL}\n(the dashboard tests drive a real headless Chromium)`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  console.error(`chromium is missing: ${INSTALL}`);
  const install = () => spawnSync('apt-get', INSTALL.split(' ').slice(1), { stdio: 'inherit', env }).status === 0;
  if (!install()) {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (!install()) {
      console.error(`installing chromium failed; run: ${INSTALL}`);
      process.exit(1);
    }
  }
  if (!found()) {
    console.error(`apt-get reported success but chromium is still missing; run: ${INSTALL}`);
    process.exit(1);
  }
}
