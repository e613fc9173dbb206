/**
 * `orc hooks install|uninstall|status`: idempotent, honours core.hooksPath,
 * chains to the hook the user had (its failure still blocks where git
 * blocks; pre-receive gets the same stdin), and uninstall restores it byte
 * for byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, tmpDir, tmpRepo } from '../helpers.js';
import { bareRemote, gitE, hookEnv, orcOk } from './fixtures.js';

afterAll(cleanup);
const env = hookEnv();

function writeHook(file: string, body: string): Buffer {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return fs.readFileSync(file);
}

const snapshotDir = (dir: string) =>
  fs
    .readdirSync(dir)
    .sort()
    .map((f) => `${f}:${fs.statSync(path.join(dir, f)).mode.toString(8)}:${fs.readFileSync(path.join(dir, f)).toString('base64')}`);

describe('orc hooks install / uninstall', () => {
  it('chains to the user\'s hook, is idempotent, and uninstall restores it byte for byte', () => {
    const repo = tmpRepo();
    const hooks = path.join(repo, '.git', 'hooks');
    const log = path.join(tmpDir(), 'log');
    const original = writeHook(path.join(hooks, 'prepare-commit-msg'), `echo "user hook $2" >> '${log}'\nexit \${USER_HOOK_EXIT:-0}`);
    fs.chmodSync(path.join(hooks, 'prepare-commit-msg'), 0o750);
    const before = snapshotDir(hooks);

    orcOk(repo, env, 'hooks', 'install');
    const once = snapshotDir(hooks);
    orcOk(repo, env, 'hooks', 'install');
    expect(snapshotDir(hooks)).toEqual(once);
    expect(fs.readFileSync(path.join(hooks, 'prepare-commit-msg.orc-chained'))).toEqual(original);
    const status = JSON.parse(orcOk(repo, env, 'hooks', 'status', '--json')) as { dir: string; hooks: { name: string; state: string; chained: boolean }[] };
    expect(status.dir).toBe(hooks);
    expect(status.hooks).toEqual([
      expect.objectContaining({ name: 'pre-commit', state: 'orc', chained: false }),
      expect.objectContaining({ name: 'prepare-commit-msg', state: 'orc', chained: true }),
      expect.objectContaining({ name: 'post-commit', state: 'orc', chained: false }),
    ]);

    // The user's hook still runs, and its failure still blocks the commit.
    expect(gitE(repo, env, 'commit', '-q', '--allow-empty', '-m', 'one').code).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toBe('user hook message\n');
    const blocked = gitE(repo, { ...env, USER_HOOK_EXIT: '1' }, 'commit', '-q', '--allow-empty', '-m', 'two');
    expect(blocked.code).not.toBe(0);
    expect(git(repo, 'log', '-1', '--format=%s')).toBe('one');

    orcOk(repo, env, 'hooks', 'uninstall');
    expect(snapshotDir(hooks)).toEqual(before);
    orcOk(repo, env, 'hooks', 'uninstall');
    expect(snapshotDir(hooks)).toEqual(before);
  });

  it('installs into core.hooksPath, relative to the worktree root, from a subfolder too', () => {
    const repo = tmpRepo();
    git(repo, 'config', 'core.hooksPath', '.githooks');
    fs.mkdirSync(path.join(repo, 'sub'));
    const out = JSON.parse(orcOk(path.join(repo, 'sub'), env, 'hooks', 'install', '--json')) as { dir: string };
    expect(out.dir).toBe(path.join(repo, '.githooks'));
    expect(fs.readdirSync(path.join(repo, '.githooks')).sort()).toEqual(['post-commit', 'pre-commit', 'prepare-commit-msg']);
    expect(fs.existsSync(path.join(repo, '.git', 'hooks', 'post-commit'))).toBe(false);
    orcOk(repo, env, 'hooks', 'uninstall');
    expect(fs.readdirSync(path.join(repo, '.githooks'))).toEqual([]);
  });

  it('pre-receive: the user\'s hook gets the same stdin and can still refuse; uninstall restores it', () => {
    const { bare } = bareRemote();
    const log = path.join(tmpDir(), 'stdin');
    const hook = path.join(bare, 'hooks', 'pre-receive');
    const original = writeHook(hook, `cat >> '${log}'\nexit \${REFUSE:-0}`);
    orcOk(bare, env, 'hooks', 'install', '--remote-repo', bare);
    expect(fs.readFileSync(hook, 'utf8')).toMatch(/orc-hook/);

    const repo = tmpRepo();
    orcOk(repo, env, 'ws', 'create', 'W');
    const url = `file://${bare}`;
    expect(gitE(repo, env, 'push', '-q', url, 'orc', 'main').code).toBe(0);
    const seen = fs.readFileSync(log, 'utf8');
    expect(seen).toMatch(/ refs\/heads\/orc\n/);
    expect(seen).toMatch(/ refs\/heads\/main\n/);
    // orc's check still runs after the user's hook passed.
    const byHand = git(repo, 'commit-tree', 'orc^{tree}', '-p', 'orc', '-m', 'by hand');
    const hand = gitE(repo, env, 'push', url, `${byHand}:refs/heads/orc`);
    expect(hand.code).not.toBe(0);
    expect(hand.stderr).toMatch(/remote: orc: .*has no Orc-Op trailer/);
    // The user's refusal still refuses, for any ref.
    const refused = gitE(repo, { ...env, REFUSE: '1' }, 'push', url, 'main:refs/heads/other');
    expect(refused.code).not.toBe(0);
    expect(gitE(bare, env, 'rev-parse', '-q', '--verify', 'refs/heads/other').code).not.toBe(0);

    orcOk(bare, env, 'hooks', 'uninstall', '--remote-repo', bare);
    expect(fs.readFileSync(hook)).toEqual(original);
    expect(fs.existsSync(`${hook}.orc-chained`)).toBe(false);
  });

  it('--remote-repo must be a bare repository', () => {
    const repo = tmpRepo();
    const out = (() => {
      try {
        orcOk(repo, env, 'hooks', 'install', '--remote-repo', repo);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(out).toMatch(/is not a bare repository/);
  });
});
