/**
 * The event log (`events` with its filters, free-form `event`), the audit
 * log (`log`) and the runner's `plan`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpRepo } from '../helpers.js';
import { commitByHand, commitCount, eventsAdded, expectOneLineError, expectRefused, ok, opOf, tip, type EventLine } from './util.js';

afterAll(cleanup);

describe('events', () => {
  let repo: string;
  let task = '';
  beforeAll(() => {
    repo = tmpRepo();
    const run = (args: string[], env?: Record<string, string>) => {
      const r = orc(repo, args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout.trim();
    };
    run(['ws', 'create', 'ev']);
    run(['ws', 'create', 'other']);
    task = run(['t', 'add', 'ev', 'Event task'], { ORC_AGENT: 'lead' });
    run(['t', 'add', 'other', 'Elsewhere']);
    run(['a', 'register', 'worker-1', 'claude']);
    run(['t', 'claim', 'ev', task, 'worker-1']);
    run(['t', 'complete', 'ev', task, 'done well', '--agent', 'worker-1']); // the owner names itself (else: the operator)
    run(['lock', 'acquire', 'deploy', 'worker-1']);
    run(['lock', 'release', 'deploy', 'worker-1']);
    run(['kb', 'write', 'notes', 'some', 'text']);
    run(['kb', 'rm', 'notes']);
  });

  it('every op wrote exactly one event {ts, agent, action}, with the seed action names, oldest first', () => {
    const all = ok<EventLine[]>(repo, ['events', '--last', '1000']);
    expect(all).toHaveLength(commitCount(repo));
    // No `orc init`: the first op creates the branch, so there is no orc_initialized event.
    expect(all.map((e) => e.action)).toEqual([
      'workstream_created',
      'workstream_created',
      'task_created',
      'task_created',
      'agent_registered',
      'task_claimed',
      'task_completed',
      'lock_acquired',
      'lock_released',
      'knowledge_written',
      'knowledge_deleted',
    ]);
    for (const e of all) {
      expect(typeof e.ts).toBe('string');
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
      expect(typeof e.agent).toBe('string');
      expect(e.agent.length).toBeGreaterThan(0);
    }
    const sorted = [...all].sort((a, b) => a.ts.localeCompare(b.ts));
    expect(all).toEqual(sorted);
    expect(all.find((e) => e.action === 'task_created' && e.workstream === 'ev')).toMatchObject({ agent: 'lead', task_id: task, title: 'Event task' });
    expect(all.find((e) => e.action === 'task_completed')).toMatchObject({ agent: 'worker-1', task_id: task, result: 'done well' });
    expect(all.find((e) => e.action === 'workstream_created')).toMatchObject({ agent: 'system', workstream: 'ev' });
    // Each event line is in the tree of the commit that made it.
    const commits = git(repo, 'rev-list', '--reverse', 'orc').split('\n');
    commits.forEach((c, i) => {
      const ev = eventsAdded(repo, c, i ? commits[i - 1]! : null);
      expect(ev).toEqual([all[i]]);
    });
  });

  it('--last N gives the newest N; --agent, --action, --workstream and --since filter', () => {
    const all = ok<EventLine[]>(repo, ['events']);
    expect(ok<EventLine[]>(repo, ['events', '--last', '3'])).toEqual(all.slice(-3));
    const byAgent = ok<EventLine[]>(repo, ['events', '--agent', 'worker-1']);
    expect(byAgent.map((e) => e.action)).toEqual(['agent_registered', 'task_claimed', 'task_completed', 'lock_acquired', 'lock_released']);
    expect(ok<EventLine[]>(repo, ['events', '--action', 'task_created']).map((e) => e.workstream)).toEqual(['ev', 'other']);
    expect(ok<EventLine[]>(repo, ['events', '--agent', 'worker-1', '--action', 'lock_released', '--last', '5'])).toHaveLength(1);
    expect(ok<EventLine[]>(repo, ['events', '--workstream', 'other']).map((e) => e.action)).toEqual(['workstream_created', 'task_created']);
    const pivot = all[7]!;
    const since = ok<EventLine[]>(repo, ['events', '--since', pivot.ts]);
    expect(since).toEqual(all.slice(7));
    expect(ok<EventLine[]>(repo, ['events', '--since', new Date(Date.now() + 3600_000).toISOString()])).toEqual([]);
    expect(ok<EventLine[]>(repo, ['events', '--since', '2000-01-01'])).toEqual(all);
    expect(ok<EventLine[]>(repo, ['events', '--agent', 'nobody'])).toEqual([]);
  });

  it('text output: one line per event with time, agent and action', () => {
    const r = orc(repo, ['events', '--last', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z\s+system\s+knowledge_written\s+notes$/);
    expect(lines[1]).toMatch(/knowledge_deleted\s+notes$/);
  });

  it('event ACTION JSON logs a free-form event; bad action or data is exit 2 with no commit', () => {
    const before = tip(repo);
    const r = orc(repo, ['event', 'deploy_started', '{"env":"prod","build":42,"tags":["a"]}'], { env: { ORC_AGENT: 'ci' } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('logged deploy_started');
    const ev = eventsAdded(repo, tip(repo)!, before);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toEqual({ ts: expect.any(String), agent: 'ci', action: 'deploy_started', env: 'prod', build: 42, tags: ['a'] });
    expect(ok<EventLine[]>(repo, ['events', '--last', '1'])).toEqual(ev);
    const bare = ok(repo, ['event', 'heartbeat.custom']);
    expect(bare).toEqual({ action: 'heartbeat.custom' });
    expect(Object.keys(ok<EventLine[]>(repo, ['events', '--last', '1'])[0]!).sort()).toEqual(['action', 'agent', 'ts']);
    expectRefused(repo, ['event', 'Deploy Started'], 2, ['Deploy Started']);
    expectRefused(repo, ['event', 'ok', 'not json'], 2, ['not json']);
    expectRefused(repo, ['event', 'ok', '[1,2]'], 2, ['object']);
    expectRefused(repo, ['event', 'ok', '"text"'], 2, ['object']);
    expectRefused(repo, ['event', 'ok', '{"agent":"forged"}'], 2, ['agent']);
    expectRefused(repo, ['event', 'ok', '{"ts":"2000-01-01T00:00:00Z"}'], 2, ['ts']);
    expectRefused(repo, ['event', 'ok', JSON.stringify({ big: 'x'.repeat(20_001) })], 2, ['20000']);
  });

  it('bad filters are exit 2', () => {
    expectRefused(repo, ['events', '--last', 'ten'], 2, ['--last', 'ten']);
    expectRefused(repo, ['events', '--last', '0'], 2, ['--last']);
    expectRefused(repo, ['events', '--since', 'yesterday'], 2, ['--since', 'yesterday']);
  });
});

describe('log', () => {
  it('lists the branch op by op, newest first, with the parsed op; hand-made commits have op null', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'lg', 'log test', '2']).code).toBe(0);
    const id = orc(repo, ['t', 'add', 'lg', 'Logged']).stdout.trim();
    expect(orc(repo, ['t', 'claim', 'lg', id, 'agent-1']).code).toBe(0);
    const hand = commitByHand(repo, { 'notes.txt': 'by hand\n' }, { message: 'a commit made with git' });
    expect(orc(repo, ['lock', 'acquire', 'res', 'agent-2']).code).toBe(0);
    const log = ok<{ commit: string; parents: string[]; author: string; time: string; summary: string; op: { op: string; agent: string; at: string; input: Record<string, unknown> } | null }[]>(repo, ['log']);
    const commits = git(repo, 'rev-list', 'orc').split('\n');
    expect(log.map((e) => e.commit)).toEqual(commits);
    expect(log.map((e) => e.op?.op ?? null)).toEqual(['lock.acquire', null, 'task.claim', 'task.add', 'ws.create']);
    expect(log.map((e) => e.author)).toEqual(['agent-2', 'tester', 'agent-1', 'system', 'system']);
    expect(log[2]!.op).toEqual(opOf(repo, commits[2]!));
    expect(log[2]!.op!.input).toMatchObject({ workstream: 'lg', id, agent: 'agent-1' });
    expect(log[2]!.summary).toBe(git(repo, 'log', '-1', '--format=%s', commits[2]!));
    expect(log[1]).toMatchObject({ commit: hand, summary: 'a commit made with git', op: null });
    expect(log[0]!.parents).toEqual([hand]);
    expect(log.at(-1)!.parents).toEqual([]);
    for (const e of log) expect(new Date(e.time).toISOString()).toBe(e.time);
    expect(ok<unknown[]>(repo, ['log', '--last', '2'])).toEqual(log.slice(0, 2));
    const text = orc(repo, ['log', '--last', '3']).stdout.trim().split('\n');
    expect(text).toHaveLength(3);
    expect(text[0]).toMatch(new RegExp(`^${commits[0]!.slice(0, 12)}\\s+\\S+\\s+agent-2\\s+acquire lock res for agent-2`));
    expect(text[2]).toContain(`claim lg/${id} for agent-1: Logged`);
  });

  it('before the branch exists, log is empty', () => {
    const repo = tmpRepo();
    expect(ok(repo, ['log'])).toEqual([]);
    expect(orc(repo, ['log']).code).toBe(0);
    expect(tip(repo)).toBeNull();
  });
});

describe('plan', () => {
  it('commits plans/<cycle>.md and cycles/<cycle>.json; --json has the seed plan keys; clashing resources go in series', () => {
    const repo = tmpRepo();
    const run = (args: string[]) => {
      const r = orc(repo, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout.trim();
    };
    run(['ws', 'create', 'api', 'the API', '1']);
    run(['ws', 'create', 'web', 'the site', '2']);
    run(['ws', 'create', 'ops', 'deploys', '3']);
    run(['ws', 'create', 'empty', 'nothing to do', '4']);
    const a = run(['t', 'add', 'api', 'Build endpoint', 'REST', '1', '--resource', 'src/api/**']);
    const w = run(['t', 'add', 'web', 'Call endpoint', '', '1', '--resource', 'src/api/client.ts']);
    const o = run(['t', 'add', 'ops', 'Deploy', '', '1', '--resource', 'deploy']);
    run(['lock', 'acquire', 'deploy', 'releaser']);

    const dryBefore = tip(repo);
    const dry = orc(repo, ['plan', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(tip(repo)).toBe(dryBefore);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'orc')).not.toMatch(/^(plans|cycles)\//m);

    const count = commitCount(repo);
    const r = orc(repo, ['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(commitCount(repo)).toBe(count + 1);
    const plan = JSON.parse(r.stdout);
    for (const k of ['generated_at', 'workstreams', 'recommended_parallel', 'recommended_serial']) expect(plan).toHaveProperty(k);
    expect(new Date(plan.generated_at).toISOString()).toBe(plan.generated_at);
    expect(plan.workstreams.map((x: { name: string; pick: string | null }) => [x.name, x.pick])).toEqual([
      ['api', a],
      ['web', w],
      ['ops', o],
      ['empty', null],
    ]);
    expect(plan.recommended_parallel.map((p: { task_id: string }) => p.task_id)).toEqual([a]);
    const serial = plan.recommended_serial as { task_id: string; reason: string }[];
    expect(serial.map((p) => p.task_id).sort()).toEqual([o, w].sort());
    expect(serial.find((p) => p.task_id === w)!.reason).toMatch(/src\/api/);
    expect(serial.find((p) => p.task_id === o)!.reason).toMatch(/deploy.*releaser/);

    const files = git(repo, 'ls-tree', '-r', '--name-only', 'orc').split('\n');
    const md = files.filter((f) => /^plans\/[^/]+\.md$/.test(f));
    const js = files.filter((f) => /^cycles\/[^/]+\.json$/.test(f));
    expect(md).toHaveLength(1);
    expect(js).toHaveLength(1);
    const cycle = md[0]!.slice('plans/'.length, -'.md'.length);
    expect(js[0]).toBe(`cycles/${cycle}.json`);
    const stored = JSON.parse(git(repo, 'show', `orc:cycles/${cycle}.json`));
    expect(stored).toMatchObject({ generated_at: plan.generated_at, recommended_parallel: plan.recommended_parallel, recommended_serial: plan.recommended_serial });
    const markdown = git(repo, 'show', `orc:plans/${cycle}.md`);
    for (const title of ['Build endpoint', 'Call endpoint', 'Deploy']) expect(markdown).toContain(title);
    expect(eventsAdded(repo, tip(repo)!, git(repo, 'rev-parse', 'orc~1'))).toEqual([expect.objectContaining({ action: 'cycle_planned', agent: 'system' })]);

    // The text form prints the markdown.
    const text = orc(repo, ['plan', '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Build endpoint');
    expect(commitCount(repo)).toBe(count + 1);
  });

  it('plan outside a repo is exit 3', () => {
    const r = orc('/', ['plan', '--dry-run']);
    expect(r.code).toBe(3);
    expectOneLineError(r.stderr, ['not a git repository']);
  });
});
