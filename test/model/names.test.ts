/**
 * Input rules as pure functions: names git's fsck or a Windows checkout
 * refuses, blank resources, topic clashes, reserved event actions, the
 * original tool's defaults, readers of files of the wrong shape.
 */
import { describe, expect, it } from 'vitest';
import { OrcError } from '../../src/errors.js';
import * as O from '../../src/model/ops.js';
import * as S from '../../src/model/state.js';
import { queryEvents } from '../../src/model/events.js';
import { RESERVED_ACTIONS } from '../../src/model/actions.js';
import { lockFileName } from '../../src/model/layout.js';
import { checkName, checkResource, checkTopic, unportableComponent } from '../../src/model/validate.js';
import { DEFAULT_SETTINGS, type Agent, type Task } from '../../src/model/types.js';
import { shellQuote } from '../../src/runner/shell.js';
import { MemState } from './memstate.js';
import { FSCK_NAMES, WINDOWS_NAMES } from '../hostile/corpus.js';

const ctx = (settings = DEFAULT_SETTINGS) => ({ actor: 'system', now: new Date('2026-01-01T00:00:00Z'), settings });
const run = <I, R>(s: MemState, op: O.OpDef<I, R>, raw: Record<string, unknown>, settings = DEFAULT_SETTINGS): R => s.apply(op.decide(s, op.parse(raw), ctx(settings)));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof OrcError) return e.code;
    throw e;
  }
  return 'OK';
}

describe('names git fsck or Windows refuse', () => {
  it('every fsck and Windows name is unportable as a path component; ordinary look-alikes are not', () => {
    for (const n of [...FSCK_NAMES, ...WINDOWS_NAMES]) expect(unportableComponent(n), n).not.toBeNull();
    for (const n of ['git', 'gitx', '.github', 'git~', 'console', 'com10', 'lpt0', 'nulls', 'auxiliary', 'con-fig', 'a.b', 'gitmod', 'x~1']) expect(unportableComponent(n), n).toBeNull();
  });

  it('workstream, agent and task names: Windows device names and trailing dots are refused', () => {
    for (const n of ['CON', 'nul', 'Aux.json', 'com1', 'LPT9.x', 'ws.', 'a.b.']) expect(codeOf(() => checkName('workstream', n)), n).toBe('INVALID');
    for (const n of ['console', 'com10', 'a.b', 'nul-1']) expect(checkName('agent', n)).toBe(n);
  });

  it('topics: refused in any part, with ignorable Unicode folded away', () => {
    for (const n of ['git~1/notes', 'notes/git~1', 'GIT~1', 'gitmod~1', 'a/\u200c.git/b', 'con', 'docs/nul', 'docs/LPT1.txt', 'x./y', 'x /y', 'notes/x.', 'a\u202eb', 'zero\u200bwidth', 'a:b', 'a|b', 'a"b']) {
      expect(codeOf(() => checkTopic(n)), n).toBe('INVALID');
    }
    for (const n of ['notes/setup', 'api design', 'émigré/ünïcode', 'git/notes', 'x.md/y']) expect(checkTopic(n)).toBe(n);
  });

  it('lock resources: globs stay allowed, fsck/Windows parts, blank and whitespace-only names are refused', () => {
    for (const r of ['src/*.js', 'src/**', 'a?b', 'deploy', '.github/workflows/*.yml', 'src/[ab].ts', 'x<y>|"z"']) expect(checkResource(r)).toBe(r);
    for (const r of ['', ' ', '   ', '\t', 'CON', 'nul', 'src/.git/x', 'git~1', 'src/COM1.ts', 'a.', '\u200c.git']) expect(codeOf(() => checkResource(r)), JSON.stringify(r)).toBe('INVALID');
  });

  it('an allowed resource never encodes to a Windows device name or a dot-name', () => {
    for (const r of ['src/*.js', 'con-x', 'a', '.github/x', 'git', 'gitmod', 'x~1']) {
      const f = lockFileName(r);
      expect(unportableComponent(f), `${r} → ${f}`).toBeNull();
      expect(f.startsWith('.')).toBe(false);
    }
  });
});

describe('topic clashes', () => {
  it('x and x.md/y cannot both exist, either way round (CONFLICT, exit 1)', () => {
    const s = new MemState();
    run(s, O.kbWrite, { topic: 'x', content: 'file' });
    expect(codeOf(() => run(s, O.kbWrite, { topic: 'x.md/y', content: 'under' }))).toBe('CONFLICT');
    run(s, O.kbWrite, { topic: 'y.md/z', content: 'under' });
    expect(codeOf(() => run(s, O.kbWrite, { topic: 'y', content: 'file' }))).toBe('CONFLICT');
    expect(s.read('knowledge/x.md')!.toString()).toBe('file');
    expect(s.read('knowledge/y.md/z.md')!.toString()).toBe('under');
    run(s, O.kbWrite, { topic: 'x', content: 'again' }); // rewriting the same topic is fine
    expect(S.listTopics(s)).toEqual(['x', 'y.md/z']);
  });
});

describe('reserved event actions', () => {
  it('every action orc writes, and their families, are refused for free-form events', () => {
    expect(RESERVED_ACTIONS).toContain('code_committed');
    for (const a of [...RESERVED_ACTIONS, 'task_whatever', 'lock_stolen']) expect(codeOf(() => O.eventLog.parse({ action: a })), a).toBe('INVALID');
    for (const a of ['deploy_started', 'agent_waiting', 'knowledge_shared']) expect(O.eventLog.parse({ action: a }).action).toBe(a);
  });

  it('code.commit records code_committed with checked fields', () => {
    const s = new MemState();
    run(s, O.wsCreate, { name: 'w' });
    run(s, O.taskAdd, { workstream: 'w', id: 't', title: 'T' });
    expect(codeOf(() => O.codeCommit.decide(s, O.codeCommit.parse({ workstream: 'w', task_id: 'nope', commit: 'a'.repeat(40) }), ctx()))).toBe('NOT_FOUND');
    const d = O.codeCommit.decide(s, O.codeCommit.parse({ workstream: 'w', task_id: 't', commit: 'a'.repeat(40), branch: 'main', subject: 'x' }), ctx());
    expect(d.event).toMatchObject({ action: 'code_committed', commit: 'a'.repeat(40) });
    for (const bad of ['../../../dev/zero', 'a'.repeat(39), 'A'.repeat(40)]) expect(codeOf(() => O.codeCommit.parse({ workstream: 'w', task_id: 't', commit: bad }))).toBe('INVALID');
  });
});

describe("the original tool's defaults", () => {
  it('a task without a priority gets 5, or settings.default_priority; an agent without a type is general; types may have spaces', () => {
    const s = new MemState();
    run(s, O.wsCreate, { name: 'w' });
    expect(run(s, O.taskAdd, { workstream: 'w', id: 'a', title: 'A' }).priority).toBe(5);
    expect(run(s, O.taskAdd, { workstream: 'w', id: 'b', title: 'B' }, { ...DEFAULT_SETTINGS, default_priority: 2 }).priority).toBe(2);
    expect(run(s, O.taskAdd, { workstream: 'w', id: 'c', title: 'C', priority: 1 }).priority).toBe(1);
    expect(run(s, O.agentRegister, { id: 'x' }).type).toBe('general');
    expect(run(s, O.agentHeartbeat, { id: 'y' }).type).toBe('general');
    expect(run(s, O.agentRegister, { id: 'z', type: 'research assistant' }).type).toBe('research assistant');
    for (const t of ['a\nb', 'a\u0007', '\u202eevil', '   ']) expect(codeOf(() => O.agentRegister.parse({ id: 'q', type: t })), JSON.stringify(t)).toBe('INVALID');
  });

  it('a default_priority setting that is not a whole number in 1..100 is CORRUPT', () => {
    const s = new MemState();
    s.files.set('orc.json', Buffer.from(JSON.stringify({ format: 1, created_at: 'x', settings: { default_priority: 'high' } })));
    expect(codeOf(() => S.settingsOf(s))).toBe('CORRUPT');
  });
});

describe('readers: valid JSON of the wrong shape is CORRUPT, naming the file', () => {
  const cases: [string, string, (s: MemState) => unknown][] = [
    ['agents/a.json', 'agent', (s) => S.listAgentsRaw(s)],
    ['agents/a.json', 'agent', (s) => S.getAgent(s, 'a')],
    ['locks/db.json', 'lock', (s) => S.listLockRecords(s)],
    ['locks/db.json', 'lock', (s) => S.getLockRecord(s, 'db')],
    ['workstreams/w/workstream.json', 'workstream', (s) => S.getWorkstream(s, 'w')],
    ['orc.json', 'settings', (s) => S.settingsOf(s)],
  ];
  for (const body of ['null', '[]', '{"id":5}', '5', '"text"', '{"id":"a","type":null}']) {
    it(`${body} in each kind of file`, () => {
      for (const [path, kind, read] of cases) {
        const s = new MemState();
        s.files.set(path, Buffer.from(body));
        let err: unknown;
        try {
          read(s);
        } catch (e) {
          err = e;
        }
        expect(err, `${kind} ${path} ${body}`).toBeInstanceOf(OrcError);
        expect((err as OrcError).code).toBe('CORRUPT');
        expect((err as OrcError).message).toContain(path);
        expect((err as OrcError).message).toContain('mem');
      }
      const s = new MemState();
      s.files.set('workstreams/w/workstream.json', Buffer.from(JSON.stringify({ name: 'w', description: '', priority: 1, status: 'active', created_at: 'x' })));
      s.files.set(`workstreams/w/tasks/00/t.json`, Buffer.from(body));
      expect(codeOf(() => S.listTasksRaw(s, 'w'))).toBe('CORRUPT');
    });
  }

  it('event lines null, 5, [] or without ts/agent/action are CORRUPT', () => {
    for (const line of ['null', '5', '[]', '{"ts":"2026-01-01T00:00:00Z"}', '"x"']) {
      const s = new MemState();
      s.files.set('events/2026/01/01/w-00001.jsonl', Buffer.from(`{"ts":"2026-01-01T00:00:00Z","agent":"a","action":"x"}\n${line}\n`));
      expect(codeOf(() => queryEvents(s)), line).toBe('CORRUPT');
    }
  });

  it('a knowledge tree 5,000 folders deep is CORRUPT, not a stack overflow', () => {
    const s = new MemState();
    s.files.set(`knowledge/${'d/'.repeat(5000)}x.md`, Buffer.from('deep'));
    let err: unknown;
    try {
      S.listTopics(s);
    } catch (e) {
      err = e;
    }
    expect((err as OrcError).code).toBe('CORRUPT');
    expect((err as OrcError).message).toMatch(/nested deeper/);
  });

  it('well-shaped files read as before', () => {
    const s = new MemState();
    const a: Agent = { id: 'a', type: 'general', capabilities: [], status: 'active', registered_at: 'x', last_heartbeat: 'x' };
    s.files.set('agents/a.json', Buffer.from(JSON.stringify(a)));
    expect(S.listAgentsRaw(s)).toEqual([a]);
    const t = run(new MemState(), O.wsCreate, { name: 'w' });
    expect(t.priority).toBe(3);
    const m = new MemState();
    run(m, O.wsCreate, { name: 'w' });
    const task = run(m, O.taskAdd, { workstream: 'w', id: 't', title: 'T' }) as Task;
    // The op's result is the task as list and show give it (lease_expires_at: null); the file lacks that derived field.
    const { lease_expires_at, ...stored } = task as typeof task & { lease_expires_at?: unknown };
    expect(lease_expires_at).toBeNull();
    expect(S.listTasksRaw(m, 'w')).toEqual([stored]);
  });
});

describe('shell quoting for pasteable commands', () => {
  it('leaves plain words alone and single-quotes everything else', () => {
    expect(shellQuote('notes/setup')).toBe('notes/setup');
    expect(shellQuote('x;touch${IFS}pwned')).toBe(`'x;touch\${IFS}pwned'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe(`''`);
  });
});
