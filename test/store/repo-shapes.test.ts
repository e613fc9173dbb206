/**
 * The user's repository as git itself sees it: a branch of the user's own
 * that happens to be named orc, a SHA-256 repository, and
 * core.sharedRepository with two users of one group.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORC_BIN, cleanup, git, orc, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { fsck, fsckProblems } from '../race-helpers.js';

afterAll(cleanup);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('a branch of the user\'s own named orc', () => {
  it('is refused with exit 3 naming orc.branch, and left untouched; orc.branch picks another name', () => {
    const repo = tmpRepo();
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'mine\n');
    git(repo, 'checkout', '-q', '-b', 'orc');
    git(repo, 'add', 'notes.txt');
    git(repo, 'commit', '-q', '-m', 'my own orc branch');
    git(repo, 'checkout', '-q', 'main');
    const before = git(repo, 'rev-parse', 'orc');
    for (const args of [['status'], ['t', 'add', 'W', 'x'], ['ws', 'create', 'W'], ['init']]) {
      const r = orc(repo, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('git config orc.branch NAME');
    }
    expect(git(repo, 'rev-parse', 'orc')).toBe(before);
    git(repo, 'config', 'orc.branch', 'orc-state');
    orcJson(repo, ['ws', 'create', 'W']);
    expect(git(repo, 'rev-parse', 'orc')).toBe(before);
    expect(git(repo, 'rev-parse', 'orc-state')).toMatch(/^[0-9a-f]{40}$/);
  });

  it('an orc branch with a commit made by hand on top (no Orc-Op trailer) is still orc state', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'W']);
    const index = path.join(tmpDir(), 'index');
    const env = { ...testEnv(), GIT_INDEX_FILE: index };
    spawnSync('git', ['read-tree', 'orc'], { cwd: repo, env });
    const tree = spawnSync('git', ['write-tree'], { cwd: repo, env, encoding: 'utf8' }).stdout.trim();
    const c = spawnSync('git', ['commit-tree', tree, '-p', 'orc', '-m', 'by hand'], { cwd: repo, env, encoding: 'utf8' }).stdout.trim();
    git(repo, 'update-ref', 'refs/heads/orc', c);
    orcJson(repo, ['t', 'add', 'W', 'still works']);
  });
});

describe('a SHA-256 repository', () => {
  it('is refused before anything is written, with exit 3 naming extensions.objectFormat', () => {
    const repo = tmpDir('orc-sha256-');
    git(repo, 'init', '-q', '--object-format=sha256', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'init');
    const before = listFiles(path.join(repo, '.git'));
    for (const args of [['init'], ['ws', 'create', 'W'], ['status'], ['kb', 'write', 't', 'x']]) {
      const r = orc(repo, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('extensions.objectFormat');
    }
    expect(listFiles(path.join(repo, '.git'))).toEqual(before);
    const f = fsck(repo);
    expect(fsckProblems(f.output)).toEqual([]);
  });
});

/** Runs a shell command line with umask 077 (as `user` when given), env for git and orc. */
function sh(cwd: string, line: string, user?: string): { code: number; out: string } {
  const env = testEnv({ HOME: '/tmp', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' });
  const argv = ['-c', `umask 077; ${line}`];
  const r = user ? spawnSync('runuser', ['-u', user, '--', 'sh', ...argv], { cwd, env, encoding: 'utf8' }) : spawnSync('sh', argv, { cwd, env, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
const ORC = `'${process.execPath}' '${ORC_BIN}'`;

const mode = (p: string): string => (fs.statSync(p).mode & 0o7777).toString(8);

describe('core.sharedRepository', () => {
  for (const shared of ['group', 'all', '0660', '0640', 'umask']) {
    it(`${shared}: objects, folders, refs, reflogs and orc's own files get the modes git gives its own (umask 077)`, () => {
      const repo = tmpDir('orc-shared-');
      expect(sh(repo, `git init -q --shared=${shared} -b main . && git commit -q --allow-empty -m init`).code).toBe(0);
      const r = sh(repo, `${ORC} ws create W && ${ORC} t add W one && ${ORC} kb write topic/a text && ${ORC} t next W a1 && ${ORC} status`);
      expect(r.code, r.out).toBe(0);
      const g = path.join(repo, '.git');
      const objDirs = fs.readdirSync(path.join(g, 'objects')).filter((n) => /^[0-9a-f]{2}$/.test(n)).map((n) => path.join(g, 'objects', n));
      expect(objDirs.length).toBeGreaterThan(5);
      const dirModes = new Set(objDirs.map(mode));
      const fileModes = new Set(objDirs.flatMap((d) => fs.readdirSync(d).map((f) => mode(path.join(d, f)))));
      // git's own: the init commit's object and folder are among them, so one mode each means orc matched git.
      expect([...dirModes]).toHaveLength(1);
      expect([...fileModes]).toHaveLength(1);
      expect(mode(path.join(g, 'refs/heads/orc'))).toBe(mode(path.join(g, 'refs/heads/main')));
      expect(mode(path.join(g, 'logs/refs/heads/orc'))).toBe(mode(path.join(g, 'logs/refs/heads/main')));
      // orc's folder of its own files in the git dir: as git makes a folder, its files as git makes a ref.
      expect(mode(path.join(g, 'orc'))).toBe([...dirModes][0]);
      for (const f of fs.readdirSync(path.join(g, 'orc'))) expect(mode(path.join(g, 'orc', f)), f).toBe(mode(path.join(g, 'refs/heads/main')));
      if (shared !== 'umask') expect(Number.parseInt([...dirModes][0]!, 8) & 0o2070).toBeGreaterThan(0o2000);
    });
  }

  const root = process.getuid?.() === 0;
  const hasRunuser = spawnSync('sh', ['-c', 'command -v runuser && command -v useradd'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!root || !hasRunuser)('two users of one group both run orc and plain git commit on one repository (needs root for useradd; skipped otherwise)', () => {
    const group = 'orctestg';
    const users = ['orctest1', 'orctest2'];
    if (spawnSync('getent', ['group', group]).status !== 0) expect(spawnSync('groupadd', [group]).status).toBe(0);
    for (const u of users) if (spawnSync('id', [u]).status !== 0) expect(spawnSync('useradd', ['-M', '-N', '-g', group, '-s', '/bin/sh', u]).status).toBe(0);
    const base = tmpDir('orc-2users-');
    fs.chmodSync(base, 0o1777);
    const repo = path.join(base, 'repo');
    fs.mkdirSync(repo);
    spawnSync('chown', [`${users[0]}:${group}`, repo]);
    const [u1, u2] = users as [string, string];
    const steps: [string, string][] = [
      [u1, `git init -q --shared=group -b main . && git commit -q --allow-empty -m u1 && ${ORC} ws create W && ${ORC} t add W from-u1`],
      // The second user works in a worktree of their own (git's per-worktree files, like the index, are theirs).
      [u2, `git worktree add -q ../wt-u2 -b u2 && cd ../wt-u2 && ${ORC} t add W from-u2 && git commit -q --allow-empty -m u2 && ${ORC} kb write shared/note hi && ${ORC} t next W u2`],
      [u1, `${ORC} t add W again-u1 && git commit -q --allow-empty -m u1-again && ${ORC} kb write shared/note2 hi && ${ORC} status`],
      [u2, `cd ../wt-u2 && ${ORC} t complete W $(${ORC} t list W --json | node -e "const t=JSON.parse(require('fs').readFileSync(0,'utf8')).find(x=>x.status==='in_progress');console.log(t.id)") done && git commit -q --allow-empty -m u2-again`],
    ];
    try {
      for (const [u, line] of steps) {
        const r = sh(repo, line, u);
        expect(r.code, `${u}: ${line}\n${r.out}`).toBe(0);
      }
    } finally {
      for (const u of users) spawnSync('userdel', [u]);
      spawnSync('groupdel', [group]);
    }
    const tasks = orcJson<{ status: string }[]>(repo, ['t', 'list', 'W'], { env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' } });
    expect(tasks).toHaveLength(3);
    expect(tasks.filter((t) => t.status === 'done')).toHaveLength(1);
    const f = sh(repo, 'git fsck --strict --no-progress');
    expect(fsckProblems(f.out), f.out).toEqual([]);
  });
});
