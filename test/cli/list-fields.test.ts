/**
 * Finding one's own work: `t list --all | --mine | --agent A` across
 * workstreams, and `--json FIELDS` (gh style) on every list command.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, orc, tmpRepo } from '../helpers.js';
import { ok } from './util.js';

afterAll(cleanup);

function seeded() {
  const repo = tmpRepo();
  ok(repo, ['ws', 'create', 'w']);
  ok(repo, ['ws', 'create', 'v', 'first', '1']);
  const a = ok<{ id: string }>(repo, ['t', 'add', 'w', 'one']).id;
  const b = ok<{ id: string }>(repo, ['t', 'add', 'v', 'two']).id;
  const c = ok<{ id: string }>(repo, ['t', 'add', 'w', 'three']).id;
  ok(repo, ['t', 'claim', 'w', a, 'me']);
  ok(repo, ['t', 'claim', 'v', b, 'you']);
  return { repo, a, b, c };
}

describe('t list across workstreams', () => {
  it('--all lists every workstream (by its priority), --mine the acting agent\'s, --agent A that agent\'s', () => {
    const { repo, a, b, c } = seeded();
    const all = ok<{ id: string; workstream: string }[]>(repo, ['t', 'list', '--all']);
    expect(all.map((t) => `${t.workstream}/${t.id}`)).toEqual([`v/${b}`, `w/${a}`, `w/${c}`]);
    expect(ok<{ id: string }[]>(repo, ['t', 'list', '--mine'], { env: { ORC_AGENT: 'me' } }).map((t) => t.id)).toEqual([a]);
    expect(ok<{ id: string }[]>(repo, ['--agent', 'me', 't', 'list', '--mine']).map((t) => t.id)).toEqual([a]);
    expect(ok<{ id: string }[]>(repo, ['t', 'list', '--agent', 'you']).map((t) => t.id)).toEqual([b]);
    expect(ok<{ id: string }[]>(repo, ['t', 'list', 'w', '--agent', 'you'])).toEqual([]);
    const text = orc(repo, ['t', 'list', '--all']);
    expect(text.stdout).toContain(`v/${b}`);
  });

  it('without a workstream and without --all/--mine/--agent, or --mine with no agent named: exit 2', () => {
    const { repo } = seeded();
    const r = orc(repo, ['t', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--all, --mine or --agent/);
    expect(orc(repo, ['t', 'list', '--mine']).code).toBe(2);
  });
});

describe('--json FIELDS', () => {
  it('keeps only the named fields, in order, on every list command', () => {
    const { repo, c } = seeded();
    ok(repo, ['kb', 'write', 'notes', 'hi']);
    ok(repo, ['lock', 'acquire', 'deploy', 'me']);
    ok(repo, ['a', 'register', 'me']);
    const cases: [string[], string, Record<string, unknown>][] = [
      [['t', 'list', 'w'], 'id,status', { id: c, status: 'pending' }],
      [['ws', 'list'], 'name,priority', { name: 'v', priority: 1 }],
      [['a', 'list'], 'id', { id: 'me' }],
      [['lock', 'list'], 'resource,token', { resource: 'deploy', token: 1 }],
      [['kb', 'list'], 'topic', { topic: 'notes' }],
      [['events', '--last', '1'], 'action,agent', { action: 'agent_registered' }],
      [['ready'], 'id,title', { id: c, title: 'three' }],
      [['log', '--last', '1'], 'summary', {}],
    ];
    for (const [args, fields, first] of cases) {
      const r = orc(repo, [...args, '--json', fields]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      const list = JSON.parse(r.stdout) as Record<string, unknown>[];
      expect(list.length, args.join(' ')).toBeGreaterThan(0);
      for (const x of list) expect(Object.keys(x), args.join(' ')).toEqual(fields.split(','));
      expect(list.find((x) => Object.entries(first).every(([k, v]) => x[k] === v)), args.join(' ')).toBeTruthy();
    }
    // A bare --json is the whole object, as before.
    const whole = JSON.parse(orc(repo, ['t', 'list', 'w', '--json']).stdout) as Record<string, unknown>[];
    expect(Object.keys(whole[0]!)).toContain('created_at');
  });

  it('an unknown field is exit 2 naming the fields there are', () => {
    const { repo } = seeded();
    const r = orc(repo, ['t', 'list', 'w', '--json', 'id,nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown JSON field "nope"; available: .*title/);
    expect(r.stdout).toBe('');
  });
});
