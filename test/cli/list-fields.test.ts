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

  it('a field the items happen not to have is null, not an error; on an empty list an unknown field is still refused; events take any field', () => {
    const { repo, c } = seeded();
    // No task has been archived: `archived` is a task field all the same.
    const picked = (args: string[]) => {
      const out = orc(repo, args);
      expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(0);
      return JSON.parse(out.stdout) as Record<string, unknown>[];
    };
    const r = picked(['t', 'list', 'w', '--json', 'id,archived,lease_expires_at']);
    expect(r.find((t) => t.id === c)).toEqual({ id: c, archived: null, lease_expires_at: null });
    // No locks: the list is empty, a lock field is fine, a typo is exit 2.
    expect(picked(['lock', 'list', '--json', 'resource,token'])).toEqual([]);
    const typo = orc(repo, ['lock', 'list', '--json', 'resorce']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown JSON field "resorce"; available: .*resource/);
    // Events carry fields of their own: one that no event has yet is null.
    const ev = picked(['events', '--last', '2', '--json', 'action,deploy_id']);
    expect(ev).toHaveLength(2);
    for (const e of ev) expect(e.deploy_id).toBeNull();
  });

  it('an empty field list (--json "", --json=) is a bare --json: every field, as JSON', () => {
    const { repo } = seeded();
    for (const flag of [['--json', ''], ['--json=']]) {
      const r = orc(repo, ['t', 'list', 'w', ...flag]);
      expect(r.code, flag.join(' ')).toBe(0);
      const list = JSON.parse(r.stdout) as Record<string, unknown>[];
      expect(Object.keys(list[0]!), flag.join(' ')).toContain('created_at');
    }
  });
});

describe('one task shape', () => {
  it('add, ready, next, show, list, complete and reopen all give lease_expires_at (null unless claimed)', () => {
    const repo = tmpRepo();
    ok(repo, ['ws', 'create', 'w']);
    const added = ok<Record<string, unknown>>(repo, ['t', 'add', 'w', 'one']);
    expect(added).toHaveProperty('lease_expires_at', null);
    expect(ok<Record<string, unknown>[]>(repo, ['ready', 'w'])[0]).toHaveProperty('lease_expires_at', null);
    const claimed = ok<Record<string, unknown>>(repo, ['t', 'next', 'w', 'me']);
    expect(typeof claimed.lease_expires_at).toBe('string');
    const id = String(added.id);
    expect(typeof ok<Record<string, unknown>>(repo, ['t', 'show', 'w', id]).lease_expires_at).toBe('string');
    const done = ok<Record<string, unknown>>(repo, ['t', 'complete', 'w', id, 'ok', '--agent', 'me']);
    expect(done).toHaveProperty('lease_expires_at', null);
    const reopened = ok<Record<string, unknown>>(repo, ['t', 'reopen', 'w', id, 'again']);
    expect(reopened).toHaveProperty('lease_expires_at', null);
    const keys = (o: Record<string, unknown>) => Object.keys(o).sort();
    expect(keys(reopened)).toEqual(keys(ok<Record<string, unknown>[]>(repo, ['t', 'list', 'w'])[0]!));
  });
});

