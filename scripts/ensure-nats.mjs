#!/usr/bin/env node
// The test command's setup step: the replication tests need a real `nats-server` (Debian package
// `nats-server`). When it is missing and this runs as root on Debian, it is installed with
// apt-get; otherwise this fails with a message naming the command — the tests never skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const INSTALL = 'apt-get install -y --no-install-recommends nats-server';
const found = () => ['/usr/bin/nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server'].some((p) => existsSync(p))
  || spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;

if (!found()) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (!root || !apt) {
    console.error(`nats-server is not installed and cannot be installed from here (${root ? 'no apt-get' : 'not root'}).\nInstall it with: sudo ${INSTALL}\n(the replication tests start real nats-server processes)`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  console.error(`nats-server is missing: ${INSTALL}`);
  const install = () => spawnSync('apt-get', INSTALL.split(' ').slice(1), { stdio: 'inherit', env }).status === 0;
  if (!install()) {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (!install()) {
      console.error(`installing nats-server failed; run: ${INSTALL}`);
      process.exit(1);
    }
  }
  if (!found()) {
    console.error(`apt-get reported success but nats-server is still missing; run: ${INSTALL}`);
    process.exit(1);
  }
}
