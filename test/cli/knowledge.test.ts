/**
 * Knowledge: `kb write/read/list/rm`. Text round-trips byte for byte,
 * topics may have folders, stdin is read with `-`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, ORC_BIN, orc, testEnv, tmpRepo } from '../helpers.js';
import { eventsAdded, expectOneLineError, expectRefused, ok, tip } from './util.js';

afterAll(cleanup);

describe('knowledge base', () => {
  let repo: string;
  beforeAll(() => {
    repo = tmpRepo();
  });

  const tricky = '\uFEFF# Setup\n\nline with trailing spaces   \n\tindented — ünïcödé 🚀 日本語\r\nCRLF line\r\n\n\n';

  it('kb write - reads stdin; kb read prints exactly the bytes written (trailing newlines, unicode, CRLF)', () => {
    const w = orc(repo, ['kb', 'write', 'notes/setup', '-'], { input: tricky });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout.trim()).toBe(`wrote notes/setup (${Buffer.byteLength(tricky)} bytes)`);
    const r = orc(repo, ['kb', 'read', 'notes/setup']);
    expect(r.code).toBe(0);
    expect(Buffer.from(r.stdout, 'utf8').equals(Buffer.from(tricky, 'utf8'))).toBe(true);
    const j = ok(repo, ['kb', 'read', 'notes/setup']);
    expect(j).toEqual({ topic: 'notes/setup', content: tricky });
  });

  it('the stored blob is the exact bytes (git hash-object agrees)', () => {
    const blob = git(repo, 'rev-parse', 'orc:knowledge/notes/setup.md');
    expect(Number(git(repo, 'cat-file', '-s', blob))).toBe(Buffer.byteLength(tricky));
    const body = Buffer.from(tricky, 'utf8');
    const oid = createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
    expect(blob).toBe(oid);
  });

  it('stdin is stored byte for byte, even bytes that are not UTF-8', () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28, 0x0d, 0x0a, 0x00]);
    const run = (args: string[], input?: Buffer) => spawnSync(process.execPath, [ORC_BIN, ...args], { cwd: repo, env: testEnv(), input: input ?? Buffer.alloc(0) });
    const w = run(['kb', 'write', 'bin/blob', '-', '--json'], bytes);
    expect(w.status, w.stderr.toString()).toBe(0);
    expect(JSON.parse(w.stdout.toString())).toEqual({ topic: 'bin/blob', bytes: bytes.length });
    const r = run(['kb', 'read', 'bin/blob']);
    expect(r.status).toBe(0);
    expect(Buffer.compare(r.stdout, bytes)).toBe(0);
    const oid = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    expect(git(repo, 'rev-parse', 'orc:knowledge/bin/blob.md')).toBe(oid);
    expect(orc(repo, ['kb', 'rm', 'bin/blob']).code).toBe(0);
  });

  it('content given as arguments is joined with spaces, with no newline added', () => {
    const j = ok(repo, ['kb', 'write', 'short', 'use', 'pnpm,', 'not npm']);
    expect(j).toEqual({ topic: 'short', bytes: 17 });
    const r = orc(repo, ['kb', 'read', 'short']);
    expect(r.stdout).toBe('use pnpm, not npm');
  });

  it('topics with folders; kb list is sorted; overwriting is a new version with updated: true', () => {
    expect(orc(repo, ['knowledge', 'write', 'a/b/c/deep', 'deep text']).code).toBe(0);
    expect(orc(repo, ['kb', 'write', 'api-design', 'v1']).code).toBe(0);
    const before = tip(repo);
    expect(orc(repo, ['kb', 'write', 'api-design', 'v2\n']).code).toBe(0);
    expect(eventsAdded(repo, tip(repo)!, before)).toEqual([expect.objectContaining({ action: 'knowledge_written', topic: 'api-design', bytes: 3, updated: true })]);
    expect(orc(repo, ['kb', 'read', 'api-design']).stdout).toBe('v2\n');
    expect(git(repo, 'show', `${before}:knowledge/api-design.md`)).toBe('v1');
    expect(ok(repo, ['kb', 'list'])).toEqual(['a/b/c/deep', 'api-design', 'notes/setup', 'short']);
    expect(orc(repo, ['kb', 'list']).stdout).toBe('a/b/c/deep\napi-design\nnotes/setup\nshort\n');
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'orc', 'knowledge/').split('\n')).toEqual([
      'knowledge/a/b/c/deep.md',
      'knowledge/api-design.md',
      'knowledge/notes/setup.md',
      'knowledge/short.md',
    ]);
    expect(ok(repo, ['status']).knowledge_topics).toEqual(['a/b/c/deep', 'api-design', 'notes/setup', 'short']);
  });

  it('kb rm deletes the topic; then read and rm are exit 1 naming it', () => {
    const r = orc(repo, ['kb', 'rm', 'a/b/c/deep']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('deleted a/b/c/deep');
    expect(ok(repo, ['kb', 'list'])).toEqual(['api-design', 'notes/setup', 'short']);
    // No empty folders are left in the tree.
    expect(git(repo, 'ls-tree', '-r', '-t', '--name-only', 'orc', 'knowledge/').split('\n')).not.toContain('knowledge/a');
    expectRefused(repo, ['kb', 'read', 'a/b/c/deep'], 1, ['a/b/c/deep']);
    expectRefused(repo, ['kb', 'rm', 'a/b/c/deep'], 1, ['a/b/c/deep']);
    expectRefused(repo, ['kb', 'delete', 'never-was'], 1, ['never-was']);
    const j = ok(repo, ['kb', 'delete', 'short']);
    expect(j).toEqual({ topic: 'short' });
  });

  it('content over the 1 MiB limit is refused with exit 2 and no commit', () => {
    const big = 'x'.repeat(1_048_577);
    expectRefused(repo, ['kb', 'write', 'big', '-'], 2, ['1048577', '1048576'], { input: big });
    expect(ok(repo, ['kb', 'list'])).not.toContain('big');
  });

  it('kb read of a topic name that is not allowed is exit 2, not "not found"', () => {
    const r = orc(repo, ['kb', 'read', '../etc/passwd']);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, ['../etc/passwd']);
  });
});
