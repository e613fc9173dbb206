/**
 * What orc prints for people and for pasting, fed hostile values: commands
 * in briefs and plans run in `sh` without running anything injected;
 * terminal output escapes control characters and bidi overrides (a forged
 * line cannot be printed) while --json stays exact; a template's {{log}}
 * stays off stdout.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, orc, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';

afterAll(cleanup);

const HOSTILE_TOPICS = ['x;touch${IFS}pwned1', 'a$(touch pwned2)b', 'c`touch pwned3`d', "e'; touch pwned4; 'f", 'g&&touch pwned5', 'h;touch pwned6 #', "i'$(touch pwned7)'", 'j\ntouch pwned8'.replace('\n', '&')];

/** The commands a brief or plan offers for pasting: inline code starting with `orc `, and the lines of its sh blocks. */
function pasteable(md: string): string[] {
  const out: string[] = [];
  for (const m of md.matchAll(/(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)/g)) if (m[2]!.trim().startsWith('orc ')) out.push(m[2]!.trim());
  for (const m of md.matchAll(/```sh\n([\s\S]*?)```/g)) for (const l of m[1]!.split('\n')) if (l.trim() && !l.includes('<your-')) out.push(l);
  return out;
}

describe('pasteable commands', () => {
  it('hostile topics in a brief, and the plan, run in sh as exact arguments, nothing injected', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    const big = 'y'.repeat(5000); // long enough that the brief points at `orc kb read TOPIC` for the rest
    for (const t of HOSTILE_TOPICS) orcJson(repo, ['kb', 'write', t, big]);
    orcJson(repo, ['t', 'add', 'w', 'Hostile', '--id', 't1', ...HOSTILE_TOPICS.flatMap((t) => ['--kb', t])]);
    const brief = orc(repo, ['brief', 'w', 't1']);
    expect(brief.code, brief.stderr).toBe(0);
    const plan = orc(repo, ['plan', '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    const cmds = [...pasteable(brief.stdout), ...pasteable(plan.stdout)];
    expect(cmds.filter((c) => c.startsWith('orc kb read')).length).toBeGreaterThanOrEqual(HOSTILE_TOPICS.length - 2);

    const dir = tmpDir('orc-sh-');
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(dir, 'args.log');
    // A stand-in orc: records its arguments, one line per run, NUL between them.
    fs.writeFileSync(path.join(bin, 'orc'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done >> '${log}'\necho >> '${log}'\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'findings.md'), 'notes');
    for (const c of cmds) {
      const r = spawnSync('sh', ['-c', c], { cwd: dir, env: testEnv({ PATH: `${bin}:${process.env.PATH}`, IFS: ' ' }), encoding: 'utf8' });
      expect(r.status, `${c}: ${r.stderr}`).toBe(0);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
    const runs = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\0').slice(0, -1));
    const read = runs.filter((a) => a[0] === 'kb' && a[1] === 'read').map((a) => a[2]);
    for (const t of read) expect(HOSTILE_TOPICS).toContain(t);
    expect(read.length).toBeGreaterThanOrEqual(HOSTILE_TOPICS.length - 2);
    expect(runs.find((a) => a[0] === 't' && a[1] === 'claim')).toEqual(['t', 'claim', 'w', 't1']);
  });
});

describe('terminal output', () => {
  const ESC = '\u001b';
  const forged = `${ESC}[2J${ESC}[H\n2026-01-01T00:00:00.000Z  admin  task_completed  w/t1 "forged"\r`;

  it('escapes control characters and bidi overrides in events, status, lists and log; --json stays exact', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w', `desc\n[P1] forged workstream`]);
    orcJson(repo, ['event', 'deploy_started', JSON.stringify({ resource: forged, topic: '\u202eevil', reason: `${ESC}]0;title\u0007`, workstream: 'a\nb' })]);
    const forgedTitle = 'title \u202eevil\u2066x';
    orcJson(repo, ['t', 'add', 'w', forgedTitle, '--id', 't1']);
    for (const args of [['events'], ['status'], ['ws', 'list'], ['t', 'list', 'w'], ['t', 'show', 'w', 't1'], ['log'], ['ready']]) {
      const r = orc(repo, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(r.stdout, args.join(' ')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect(r.stdout, args.join(' ')).not.toMatch(/^\s*(2026-01-01T00:00:00.000Z|\[P1\] forged)/m);
    }
    const events = orc(repo, ['events']).stdout.trimEnd().split('\n');
    expect(events).toHaveLength(orcJson<unknown[]>(repo, ['events']).length);
    expect(events.find((l) => l.includes('deploy_started'))).toContain('\\x1b[2J');
    const ev = orcJson<Record<string, unknown>[]>(repo, ['events', '--action', 'deploy_started'])[0]!;
    expect(ev.resource).toBe(forged);
    expect(ev.topic).toBe('\u202eevil');
    expect(orcJson<{ title: string }>(repo, ['t', 'show', 'w', 't1']).title).toBe(forgedTitle);
  });

  it('error lines escape what they quote back: bidi overrides, zero-width marks, controls', () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    for (const args of [
      ['kb', 'write', 'a\u202eb', 'x'],
      ['t', 'show', 'w', 'a\u202eb\u200b'],
      ['t', 'add', 'no\u2066ws', 'T'],
      ['x\u202ey'],
      ['t', 'list', 'w', '--bogus\u202e'],
    ]) {
      const r = orc(repo, args);
      expect(r.code, args.join(' ')).toBeGreaterThan(0);
      expect(r.stderr, args.join(' ')).toMatch(/^orc: .*\\u\{(202e|2066)\}/);
      // eslint-disable-next-line no-control-regex
      expect(r.stderr, args.join(' ')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u200b\u202a-\u202e\u2066-\u2069]/);
    }
  });

  it("a template's {{log}} goes to stderr, so --json stays one JSON value", () => {
    const repo = tmpRepo();
    orcJson(repo, ['ws', 'create', 'w']);
    orcJson(repo, ['t', 'add', 'w', 'A', '--id', 'a']);
    orcJson(repo, ['templates', 'write', 'plan', '-'], { input: '{{log "hello from the template"}}# Plan {{cycle}}\n' });
    const r = orc(repo, ['plan', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stdout).not.toContain('hello from the template\n');
    expect(r.stderr).toContain('hello from the template');
  });
});
