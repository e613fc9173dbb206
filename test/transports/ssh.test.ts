/**
 * ssh (DESIGN.md "Across hosts"): Debian's sshd on a loopback port with a
 * generated host key and client key; the hosts' remote is
 * ssh://USER@127.0.0.1:PORT/abs/path.git and orc's git children reach it
 * through GIT_SSH_COMMAND, passed on from orc's environment. The multi-host
 * race (tasks and one lock) and the offline/online replay hold through it.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { cleanup, git, tmpDir } from '../helpers.js';
import { fileUrl, seedRemote } from '../sync/daemon.js';
import { offlineReplay, raceHosts, type Reach } from './race.js';
import { SSHD, Sshd, describeWith } from './servers.js';

describeWith([SSHD, 'ssh', 'ssh-keygen'], 'ssh through sshd', () => {
  let base = '';
  let sshd: Sshd;
  beforeAll(async () => {
    base = tmpDir('orc-ssh-');
    sshd = await Sshd.start();
  });
  afterAll(async () => {
    await sshd?.stop();
    cleanup();
  });

  async function remote(name: string, tasks: number): Promise<Reach> {
    const bare = path.join(base, `${name}.git`);
    git(base, 'init', '-q', '--bare', '-b', 'main', bare);
    await seedRemote(fileUrl(bare), tasks);
    return { bare, url: sshd.url(bare), env: sshd.env };
  }

  it('4 hosts race for 8 tasks and one lock: no task claimed twice, one lock holder at a time, every success on the remote', async () => {
    await raceHosts(await remote('race', 8), { hosts: 4, tasks: 8, rounds: 1 });
  }, 300_000);

  it('a host whose remote went away queues its non-exclusive ops and replays them when it is back', async () => {
    await offlineReplay(await remote('offline', 4), sshd);
  }, 180_000);
});
