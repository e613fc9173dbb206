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
