import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { casRef, readRef } from '../../src/store/refs.js';
import { cleanup, git, testEnv, tmpRepo } from '../helpers.js';

afterAll(cleanup);

const opts = { reflog: true, reflogIdent: 'a <a@orc.invalid> 1700000000 +0000', reflogMessage: 'orc: test' };

describe('compare-and-swap of refs/heads/orc', () => {
  it('creates, moves only from the expected value, and writes a reflog git reads', () => {
    const repo = tmpRepo();
    const common = path.join(repo, '.git');
    const c1 = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'two');
    const c2 = git(repo, 'rev-parse', 'HEAD');
    expect(readRef(common, 'refs/heads/orc')).toBeNull();
    expect(casRef(common, 'refs/heads/orc', c1, c2, opts)).toBe('moved'); // expected it to exist
    expect(casRef(common, 'refs/heads/orc', null, c1, opts)).toBe('ok');
    expect(casRef(common, 'refs/heads/orc', null, c2, opts)).toBe('moved');
    expect(casRef(common, 'refs/heads/orc', c1, c2, opts)).toBe('ok');
    expect(git(repo, 'rev-parse', 'refs/heads/orc')).toBe(c2);
    expect(git(repo, 'reflog', 'show', '--format=%H %gs', 'refs/heads/orc').split('\n')).toEqual([`${c2} orc: test`, `${c1} orc: test`]);
    expect(fs.existsSync(path.join(common, 'refs/heads/orc.lock'))).toBe(false);
  });

  it('honours a lock held by git, and git honours ours', () => {
    const repo = tmpRepo();
    const common = path.join(repo, '.git');
    const c1 = git(repo, 'rev-parse', 'HEAD');
    expect(casRef(common, 'refs/heads/orc', null, c1, opts)).toBe('ok');
    // While a lock file exists (as git leaves it mid-update), orc reports busy and changes nothing.
    fs.writeFileSync(path.join(common, 'refs/heads/orc.lock'), '');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'two');
    const c2 = git(repo, 'rev-parse', 'HEAD');
    expect(casRef(common, 'refs/heads/orc', c1, c2, opts)).toBe('busy');
    const r = spawnSync('git', ['update-ref', 'refs/heads/orc', c2, c1], { cwd: repo, env: testEnv(), encoding: 'utf8' });
    expect(r.status).not.toBe(0); // git sees the same lock
    expect(r.stderr).toMatch(/lock/i);
    fs.rmSync(path.join(common, 'refs/heads/orc.lock'));
    // git moving the ref behind orc's back makes orc's CAS fail, not overwrite.
    git(repo, 'update-ref', 'refs/heads/orc', c2, c1);
    expect(casRef(common, 'refs/heads/orc', c1, c1, opts)).toBe('moved');
    expect(readRef(common, 'refs/heads/orc')).toBe(c2);
  });

  it('reads packed refs and updates them through a loose ref, as git does', () => {
    const repo = tmpRepo();
    const common = path.join(repo, '.git');
    const c1 = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'update-ref', 'refs/heads/orc', c1);
    git(repo, 'pack-refs', '--all');
    expect(fs.existsSync(path.join(common, 'refs/heads/orc'))).toBe(false);
    expect(readRef(common, 'refs/heads/orc')).toBe(c1);
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'two');
    const c2 = git(repo, 'rev-parse', 'HEAD');
    expect(casRef(common, 'refs/heads/orc', c1, c2, opts)).toBe('ok');
    expect(git(repo, 'rev-parse', 'orc')).toBe(c2);
  });
});

describe('a ref lock left behind', () => {
  it('names a dead orc holder on this host at once, and a foreign stale lock after 10 s; never hangs', async () => {
    const { orc } = await import('../helpers.js');
    const os = await import('node:os');
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'w']).code).toBe(0);
    const lock = path.join(repo, '.git', 'refs', 'heads', 'orc.lock');
    const before = git(repo, 'rev-parse', 'orc');
    // A SIGKILLed orc leaves its pid in the lock: no wait for the age threshold.
    fs.writeFileSync(lock, `orc 999999 ${os.hostname()}\n`);
    let t = Date.now();
    let r = orc(repo, ['t', 'add', 'w', 'x']);
    expect(Date.now() - t).toBeLessThan(3000);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`rm '${lock}'`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // A lock of unknown origin (git's are empty) counts as stale once it is 10 s old.
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 11_000);
    fs.utimesSync(lock, old, old);
    t = Date.now();
    r = orc(repo, ['t', 'add', 'w', 'x']);
    expect(Date.now() - t).toBeLessThan(3000);
    expect(r.code).toBe(3);
    expect(git(repo, 'rev-parse', 'orc')).toBe(before);
    fs.rmSync(lock);
    expect(orc(repo, ['t', 'add', 'w', 'x']).code).toBe(0);
  }, 30_000);
});
