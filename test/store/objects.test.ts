import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectStore, hashObject } from '../../src/store/objects.js';
import { applyChanges, parseTree, serializeTree } from '../../src/store/tree.js';
import { parseCommit, serializeCommit, trailers } from '../../src/store/commit.js';
import { cleanup, git, testEnv, tmpRepo } from '../helpers.js';

afterAll(cleanup);

function store(repo: string): ObjectStore {
  return new ObjectStore(path.join(repo, '.git', 'objects'));
}

describe('objects written by orc are git objects', () => {
  it('hashes and writes blobs exactly as git does', () => {
    const repo = tmpRepo();
    const s = store(repo);
    for (const text of ['', 'hello\n', 'ünïcödé ✓\n', 'x'.repeat(100_000)]) {
      const oid = s.write('blob', Buffer.from(text));
      const viaGit = execFileSync('git', ['hash-object', '--stdin'], { cwd: repo, input: text, env: testEnv() }).toString().trim();
      expect(oid).toBe(viaGit);
      expect(execFileSync('git', ['cat-file', 'blob', oid], { cwd: repo, env: testEnv() }).toString()).toBe(text);
    }
  });

  it('serializes trees in git order, identical to git mktree', () => {
    const repo = tmpRepo();
    const s = store(repo);
    const blob = s.write('blob', Buffer.from('x'));
    const sub = s.write('tree', serializeTree([{ mode: '100644', name: 'f', oid: blob }]));
    // "a" as a folder sorts as "a/", after "a.b" and "a-b"; git's order is subtle.
    const entries = [
      { mode: '40000', name: 'a', oid: sub },
      { mode: '100644', name: 'a.b', oid: blob },
      { mode: '100644', name: 'a-b', oid: blob },
      { mode: '100644', name: 'a0', oid: blob },
      { mode: '100644', name: 'B', oid: blob },
      { mode: '100644', name: 'ü', oid: blob },
    ];
    const oid = s.write('tree', serializeTree(entries));
    const lines = entries.map((e) => `${e.mode === '40000' ? '040000 tree' : '100644 blob'} ${e.oid}\t${e.name}`).join('\n');
    const viaGit = execFileSync('git', ['mktree'], { cwd: repo, input: `${lines}\n`, env: testEnv() }).toString().trim();
    expect(oid).toBe(viaGit);
    expect(parseTree(s.read(oid).content).map((e) => e.name)).toEqual(git(repo, 'ls-tree', '-z', '--name-only', oid).split('\0').filter(Boolean));
  });

  it('applies nested changes, deletes empty folders, and passes git fsck', () => {
    const repo = tmpRepo();
    const s = store(repo);
    const read = (oid: string) => parseTree(s.read(oid, 'tree').content);
    let root = applyChanges(s, null, new Map([
      ['orc.json', Buffer.from('{}')],
      ['a/b/c.json', Buffer.from('1')],
      ['a/b/d.json', Buffer.from('2')],
      ['a/e.json', Buffer.from('3')],
    ]), read);
    expect(git(repo, 'ls-tree', '-r', '--name-only', root!).split('\n')).toEqual(['a/b/c.json', 'a/b/d.json', 'a/e.json', 'orc.json']);
    root = applyChanges(s, root, new Map([['a/b/c.json', null], ['a/b/d.json', null], ['x/y.json', Buffer.from('4')]]), read);
    expect(git(repo, 'ls-tree', '-r', '--name-only', root!).split('\n')).toEqual(['a/e.json', 'orc.json', 'x/y.json']);
    const commit = s.write('commit', serializeCommit({
      tree: root!, parents: [], author: { name: 'agent-1', email: 'agent-1@orc.invalid', time: 1700000000, tz: '+0000' },
      committer: { name: 'agent-1', email: 'agent-1@orc.invalid', time: 1700000000, tz: '+0000' }, message: 'summary\n\nOrc-Op: {"op":"x"}\n',
    }));
    git(repo, 'update-ref', 'refs/heads/t', commit);
    execFileSync('git', ['fsck', '--strict', '--no-progress'], { cwd: repo, env: testEnv() });
    expect(git(repo, 'log', '-1', '--format=%an|%s|%(trailers:key=Orc-Op,valueonly)', 't')).toBe('agent-1|summary|{"op":"x"}');
  });

  it('parses commits git made, including merges and signatures, and reads trailers', () => {
    const repo = tmpRepo();
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'subject', '-m', 'body text', '-m', 'Orc-Op: {"a":1}\nOther: x');
    const oid = git(repo, 'rev-parse', 'HEAD');
    const c = parseCommit(store(repo).read(oid, 'commit').content, oid);
    expect(c.parents).toHaveLength(1);
    expect(c.author.name).toBe('tester');
    expect(trailers(c.message, 'Orc-Op')).toEqual(['{"a":1}']);
    const raw = Buffer.from(`tree ${c.tree}\nparent ${c.parents[0]}\nparent ${oid}\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\ngpgsig -----BEGIN-----\n line\n -----END-----\n\nmerge\n`);
    const m = parseCommit(raw);
    expect(m.parents).toEqual([c.parents[0], oid]);
    expect(m.message).toBe('merge\n');
  });

  it('reads objects after git gc packs them', () => {
    const repo = tmpRepo();
    const s0 = store(repo);
    const oids = Array.from({ length: 50 }, (_, i) => s0.write('blob', Buffer.from(`blob ${i}\n`.repeat(i + 1))));
    git(repo, 'update-ref', 'refs/heads/keep', s0.write('commit', serializeCommit({
      tree: s0.write('tree', serializeTree(oids.map((oid, i) => ({ mode: '100644', name: `f${i}`, oid })))), parents: [],
      author: { name: 'a', email: 'a', time: 1, tz: '+0000' }, committer: { name: 'a', email: 'a', time: 1, tz: '+0000' }, message: 'm\n',
    })));
    git(repo, 'gc', '-q', '--prune=now');
    const s = store(repo);
    oids.forEach((oid, i) => expect(s.read(oid, 'blob').content.toString()).toBe(`blob ${i}\n`.repeat(i + 1)));
    expect(hashObject('blob', Buffer.from('blob 3\n'.repeat(4)))).toBe(oids[3]);
  });
});

describe('a long-lived library across git gc', () => {
  it('keeps writing after git gc packs and removes the object folders it had made', async () => {
    const { open } = await import('../../src/index.js');
    const repo = tmpRepo();
    const orc = await open({ repo, env: testEnv() });
    await orc.createWorkstream('w');
    for (let i = 0; i < 20; i++) await orc.addTask('w', `t${i}`);
    git(repo, 'gc', '-q', '--prune=now');
    expect(git(repo, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    await orc.addTask('w', 'after gc');
    expect((await orc.listTasks('w')).map((t) => t.title)).toContain('after gc');
    execFileSync('git', ['fsck', '--strict', '--no-progress'], { cwd: repo, env: testEnv() });
  });
});
