/**
 * Hostile names and files against real git: every name git fsck flags or a
 * Windows checkout refuses is refused on every surface (exit 2, no commit),
 * so the branch orc writes passes `git fsck --strict` and a push to a remote
 * that checks objects; state files of the wrong shape give CORRUPT naming
 * the file and the commit, never a crash.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { open, OrcError } from '../../src/index.js';
import { writeTemplate } from '../../src/runner/runner.js';
import { cleanup, git, orc, orcJson, testEnv, tmpDir, tmpRepo, waitMaintenance } from '../helpers.js';
import { commitByHand, expectRefused, tip } from '../cli/util.js';
import { FSCK_NAMES, WINDOWS_NAMES } from './corpus.js';

afterAll(cleanup);

async function refusedOrDone(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof OrcError) return e.code;
    throw e;
  }
}

describe('names git fsck flags', () => {
  it('are refused on every surface; what orc writes passes git fsck --strict and a push with receive.fsckObjects', async () => {
    const repo = tmpRepo();
    const lib = await open({ repo, agent: 'lib', env: testEnv() });
    await lib.createWorkstream('w');
    await lib.addTask('w', 'seed task', '', undefined, { id: 't1' });
    const accepted: string[] = [];
    for (const n of [...FSCK_NAMES, ...WINDOWS_NAMES]) {
      const before = tip(repo);
      const tries: [string, Promise<unknown>][] = [
        ['topic', lib.writeKnowledge(n, 'x')],
        ['topic/part', lib.writeKnowledge(`${n}/notes`, 'x')],
        ['topic/inner', lib.writeKnowledge(`notes/${n}/x`, 'x')],
        ['resource', lib.acquireLock(n, 'lib')],
        ['resource/part', lib.acquireLock(`src/${n}/x`, 'lib')],
        ['workstream', lib.createWorkstream(n)],
        ['agent', lib.registerAgent(n)],
        ['task', lib.addTask('w', 'title', '', undefined, { id: n })],
        ['template', writeTemplate(lib, `partials/${n}`, 'x')],
      ];
      for (const [where, p] of tries) {
        const code = await refusedOrDone(p);
        if (code === 'OK') accepted.push(`${where} ${JSON.stringify(n)}`);
        else expect(code, `${where} ${JSON.stringify(n)}`).toBe('INVALID');
      }
      expect(tip(repo), JSON.stringify(n)).toBe(before);
    }
    expect(accepted).toEqual([]);
    // Ordinary names next to them stay allowed.
    await lib.writeKnowledge('git/notes', 'ok');
    await lib.writeKnowledge('émigré/ünïcode notes', 'ok');
    await lib.acquireLock('src/*.js', 'lib');
    await lib.acquireLock('.github/workflows/*.yml', 'lib');
    await lib.registerAgent('console', 'research assistant');

    waitMaintenance(repo);
    const fsck = spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo, env: testEnv(), encoding: 'utf8' });
    expect(fsck.status, fsck.stderr + fsck.stdout).toBe(0);
    const bare = tmpDir('orc-bare-');
    git(bare, 'init', '-q', '--bare');
    git(bare, 'config', 'receive.fsckObjects', 'true');
    const push = spawnSync('git', ['push', bare, 'refs/heads/orc:refs/heads/orc'], { cwd: repo, env: testEnv(), encoding: 'utf8' });
    expect(push.status, push.stderr).toBe(0);
    expect(git(bare, 'rev-parse', 'refs/heads/orc')).toBe(tip(repo));
  });

  it('through the CLI: exit 2, one line naming the value, no commit', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    expectRefused(repo, ['kb', 'write', 'git~1/notes', 'x'], 2, ['git~1/notes']);
    expectRefused(repo, ['kb', 'write', 'notes/.GIT', 'x'], 2, ['notes/.GIT']);
    expectRefused(repo, ['lock', 'acquire', 'CON', 'a1'], 2, ['CON']);
    expectRefused(repo, ['lock', 'acquire', '   ', 'a1'], 2, ['blank']);
    expectRefused(repo, ['lock', 'acquire', '', 'a1'], 2, ['resource']);
    expectRefused(repo, ['ws', 'create', 'nul'], 2, ['nul']);
    expectRefused(repo, ['a', 'register', 'COM1'], 2, ['COM1']);
    expectRefused(repo, ['t', 'add', 'w', 'title', '--id', 'lpt1.x'], 2, ['lpt1.x']);
    expectRefused(repo, ['templates', 'write', 'partials/aux', '-'], 2, ['aux'], { input: 'x' });
    // Reserved event actions cannot be forged as free-form events.
    expectRefused(repo, ['event', 'code_committed', JSON.stringify({ workstream: 'w', task_id: 't', commit: 'a'.repeat(40) })], 2, ['code_committed', 'reserved']);
    expectRefused(repo, ['event', 'task_completed', '{}'], 2, ['task_completed']);
    expectRefused(repo, ['event', 'knowledge_written', '{"topic":"fake"}'], 2, ['knowledge_written']);
  });
});

describe('topic clashes through the CLI', () => {
  it('x then x.md/y, and y.md/z then y, are refused with exit 1 and no commit', () => {
    const repo = tmpRepo();
    orcJson(repo, ['kb', 'write', 'x', 'one']);
    expectRefused(repo, ['kb', 'write', 'x.md/y', 'two'], 1, ['x.md/y']);
    orcJson(repo, ['kb', 'write', 'y.md/z', 'three']);
    expectRefused(repo, ['kb', 'write', 'y', 'four'], 1, ['"y"']);
    expect(orc(repo, ['kb', 'read', 'x']).stdout).toBe('one');
    expect(orcJson<string[]>(repo, ['kb', 'list'])).toEqual(['x', 'y.md/z']);
  });
});

describe('state files of the wrong shape', () => {
  const shapes = ['null', '[]', '{"id":5}'];
  const cases: { file: (b: string) => Record<string, string>; args: string[] }[] = [
    { file: (b) => ({ 'agents/a.json': b }), args: ['a', 'list'] },
    { file: (b) => ({ 'agents/a.json': b }), args: ['status'] },
    { file: (b) => ({ 'locks/db.json': b }), args: ['lock', 'list'] },
    { file: (b) => ({ 'workstreams/w/tasks/aa/t.json': b }), args: ['t', 'list', 'w'] },
    { file: (b) => ({ 'workstreams/v/workstream.json': b }), args: ['ws', 'list'] },
    { file: (b) => ({ 'events/2026/01/01/evil-00001.jsonl': `${b === '{"id":5}' ? '5' : b}\n` }), args: ['events'] },
  ];
  it('give CORRUPT (exit 3) naming the file and the commit, for every reader', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    const good = tip(repo)!;
    for (const b of shapes) {
      for (const c of cases) {
        git(repo, 'update-ref', 'refs/heads/orc', good);
        const files = c.file(b);
        const commit = commitByHand(repo, files);
        const r = orc(repo, c.args);
        const label = `${JSON.stringify(files)} → orc ${c.args.join(' ')}: ${r.stderr}`;
        expect(r.code, label).toBe(3);
        expect(r.stderr, label).toContain(Object.keys(files)[0]!);
        expect(r.stderr, label).toContain(commit.slice(0, 12));
        expect(r.stderr, label).not.toMatch(/Cannot read properties|TypeError|^\s+at /m);
      }
    }
  });

  it('a state file or event segment larger than any orc writes is CORRUPT naming it; a forged topic name cannot print a line of its own', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    const good = tip(repo)!;
    const big: [string, string, string[]][] = [
      ['agents/big.json', `${' '.repeat(5 * 1024 * 1024)}{}`, ['a', 'list']],
      ['events/2026/01/01/big-00001.jsonl', `${JSON.stringify({ ts: '2026-01-01T00:00:00Z', agent: 'a', action: 'x', pad: 'p'.repeat(2 * 1024 * 1024) })}\n`, ['events']],
    ];
    for (const [file, content, args] of big) {
      git(repo, 'update-ref', 'refs/heads/orc', good);
      const commit = commitByHand(repo, { [file]: content });
      const r = orc(repo, args);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain(commit.slice(0, 12));
      expect(r.stderr).toMatch(/bytes/);
    }
    git(repo, 'update-ref', 'refs/heads/orc', good);
    commitByHand(repo, { 'knowledge/a\nforged line.md': 'x', 'knowledge/b.md': 'y' });
    const list = orc(repo, ['kb', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trimEnd().split('\n')).toEqual(['a\\x0aforged line', 'b']);
  });

  it('a knowledge tree 5,000 folders deep is CORRUPT, not a stack overflow', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    // Built bottom-up as loose objects written here: 5,000 git processes would take a minute.
    const objects = path.join(repo, '.git', 'objects');
    const put = (type: string, body: Buffer): Buffer => {
      const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
      const id = crypto.createHash('sha1').update(raw).digest();
      const hex = id.toString('hex');
      fs.mkdirSync(path.join(objects, hex.slice(0, 2)), { recursive: true });
      fs.writeFileSync(path.join(objects, hex.slice(0, 2), hex.slice(2)), zlib.deflateSync(raw));
      return id;
    };
    let id = put('tree', Buffer.concat([Buffer.from('100644 x.md\0'), put('blob', Buffer.from('deep'))]));
    for (let i = 0; i < 5000; i++) id = put('tree', Buffer.concat([Buffer.from('40000 d\0'), id]));
    const tree = id.toString('hex');
    const top = git(repo, 'rev-parse', 'refs/heads/orc^{tree}');
    const entries = git(repo, 'ls-tree', top).split('\n').filter((l) => !l.endsWith('\tknowledge'));
    const root = spawnSync('git', ['mktree'], { cwd: repo, env: testEnv(), input: `${[...entries, `040000 tree ${tree}\tknowledge`].join('\n')}\n`, encoding: 'utf8' }).stdout.trim();
    const commit = git(repo, 'commit-tree', root, '-p', tip(repo)!, '-m', 'deep');
    git(repo, 'update-ref', 'refs/heads/orc', commit);
    for (const args of [['kb', 'list'], ['status']]) {
      const r = orc(repo, args);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/nested deeper/);
      expect(r.stderr).toContain(commit.slice(0, 12));
      expect(r.stderr).not.toMatch(/Maximum call stack/);
    }
  }, 120_000);
});
