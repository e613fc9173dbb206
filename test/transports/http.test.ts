/**
 * Smart HTTP (DESIGN.md "Across hosts"): Debian's apache2 runs `git
 * http-backend` on a loopback port and the hosts' remote is
 * http://127.0.0.1:PORT/git/<repo>.git. The multi-host race (tasks and one
 * lock) and the offline/online replay hold through it.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { cleanup, git, tmpDir } from '../helpers.js';
import { fileUrl, seedRemote } from '../sync/daemon.js';
import { offlineReplay, raceHosts, type Reach } from './race.js';
import { APACHE, APACHE_MODULES, HTTP_BACKEND, SmartHttp, describeWith, shareBare } from './servers.js';

describeWith([APACHE, `${APACHE_MODULES}/mod_cgi.so`, HTTP_BACKEND], 'smart HTTP through apache2 and git http-backend', () => {
  let base = '';
  let http: SmartHttp;
  beforeAll(async () => {
    base = tmpDir('orc-http-');
    http = await SmartHttp.start(base);
  });
  afterAll(async () => {
    await http?.stop();
    cleanup();
  });

  /** A bare repo served at /git/<name>.git, seeded (over file://) with workstream W and `tasks` tasks. */
  async function remote(name: string, tasks: number): Promise<Reach> {
    const bare = path.join(base, `${name}.git`);
    git(base, 'init', '-q', '--bare', '-b', 'main', bare);
    await seedRemote(fileUrl(bare), tasks);
    shareBare(bare);
    return { bare, url: http.url(`${name}.git`), env: {} };
  }

  it('4 hosts race for 16 tasks and one lock: no task claimed twice, one lock holder at a time, every success on the remote', async () => {
    await raceHosts(await remote('race', 16), { hosts: 4, tasks: 16, rounds: 1 });
  }, 240_000);

  it('a host whose remote went away queues its non-exclusive ops and replays them when it is back', async () => {
    await offlineReplay(await remote('offline', 4), http);
  }, 180_000);
});
