import { spawnSync } from 'node:child_process';
/**
 * The runner through the real binary: overrides committed on the branch,
 * broken templates, dependency cycles, ready/brief/collect, templates edit
 * with a scripted $EDITOR, and a plan read on another clone after a fetch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/runner/runner.js';
import { ORC_BIN, cleanup, git, orc, orcJson, testEnv, tmpDir, tmpRepo } from '../helpers.js';
import { commitByHand, commitCount, tip } from '../cli/util.js';
import { CYCLE, buildState, fixtureRepo } from './fixture.js';

afterAll(cleanup);

function run(repo: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): string {
  const r = orc(repo, args, opts);
  expect(r.code, `orc ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A refused command: its exit code, one stderr line naming each of `names`, and no new commit. */
function refused(repo: string, args: string[], code: number, names: (string | RegExp)[], opts: { env?: Record<string, string>; input?: string } = {}): string {
  const before = tip(repo);
  const r = orc(repo, args, opts);
  expect(r.code, `orc ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(code);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  for (const n of names) {
    if (typeof n === 'string') expect(r.stderr).toContain(n);
    else expect(r.stderr).toMatch(n);
  }
  expect(tip(repo)).toBe(before);
  return r.stderr;
}

async function planned(): Promise<string> {
  const f = await fixtureRepo();
  await buildState(f);
  return f.repo;
}

describe('dependencies', () => {
  it('t after adds dependencies; a cycle is refused with exit 2 naming it; unknown tasks exit 1; ready follows', () => {
    const repo = tmpRepo();
    run(repo, ['ws', 'create', 'w']);
    for (const id of ['a', 'b', 'c', 'd']) run(repo, ['t', 'add', 'w', `Task ${id}`, '--id', id]);
    expect(orcJson<{ after: string[] }>(repo, ['t', 'after', 'w', 'b', 'a']).after).toEqual(['a']);
    expect(run(repo, ['t', 'after', 'w', 'c', 'b', 'd'])).toBe('w/c waits for b, d\n');
    refused(repo, ['t', 'after', 'w', 'a', 'c'], 2, ['dependency cycle', 'a → c → b → a']);
    refused(repo, ['t', 'after', 'w', 'a', 'a'], 2, ['itself']);
    refused(repo, ['t', 'after', 'w', 'a', 'nope'], 1, ['"nope"']);
    refused(repo, ['t', 'after', 'w', 'nope', 'a'], 1, ['"nope"']);
    refused(repo, ['t', 'after', 'w', 'a', '../x'], 2, ['../x']);
    // Already there: nothing to commit.
    const before = commitCount(repo);
    run(repo, ['t', 'after', 'w', 'b', 'a']);
    expect(commitCount(repo)).toBe(before);
    expect(orcJson<{ id: string }[]>(repo, ['ready', 'w']).map((t) => t.id)).toEqual(['a', 'd']);
    expect(orcJson<{ id: string }[]>(repo, ['ready']).map((t) => t.id)).toEqual(['a', 'd']);
    expect(run(repo, ['ready'])).toMatch(/^WORKSTREAM\s+ID\s+PRI\s+TITLE\nw\s+a\s+P5\s+Task a\n/);
    refused(repo, ['ready', 'nope'], 1, ['nope']);
    run(repo, ['t', 'claim', 'w', 'a', 'x']);
    run(repo, ['t', 'complete', 'w', 'a']);
    expect(orcJson<{ id: string }[]>(repo, ['ready', 'w']).map((t) => t.id)).toEqual(['b', 'd']);
    // The op is recorded for replay.
    expect(git(repo, 'log', '--format=%(trailers:key=Orc-Op,valueonly)', '-1', '--grep', 'waits for', 'orc')).toContain('"op":"task.depend"');
  });
});

describe('plan, brief and collect from the command line', () => {
  it('brief WS [ID], ready, plan --json, collect --json; no runner output before a plan', async () => {
    const repo = await planned();
    refused(repo, ['collect'], 1, ['orc plan']);
    const b = run(repo, ['brief', 'api']);
    expect(b).toMatch(/^# Build the payments endpoint\n/);
    expect(b).toContain('orc t claim api build');
    expect(orcJson<{ task: { id: string } }>(repo, ['brief', 'web']).task.id).toBe('checkout');
    refused(repo, ['brief', 'docs'], 1, ['no ready task', 'docs']);
    expect(run(repo, ['brief', 'docs', 'guide'])).toContain('Not ready: waits for review.');
    refused(repo, ['brief', 'api', 'nope'], 1, ['"nope"']);
    const before = commitCount(repo);
    const p = orcJson<{ cycle: string; recommended_parallel: { task_id: string }[]; recommended_serial: { task_id: string; reason: string }[] }>(repo, ['plan']);
    expect(commitCount(repo)).toBe(before + 1);
    expect(p.recommended_parallel.map((x) => x.task_id)).toEqual(['build']);
    expect(p.recommended_serial.map((x) => x.task_id)).toEqual(['checkout', 'deploy']);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'orc', 'briefs/').split('\n')).toEqual(['briefs/api/build.md', 'briefs/ops/deploy.md', 'briefs/web/checkout.md']);
    const c = orcJson<{ cycle: string; planned: unknown[] }>(repo, ['collect']);
    expect(c.cycle).toBe(p.cycle);
    expect(c.planned).toHaveLength(3);
    expect(git(repo, 'show', `orc:cycles/${p.cycle}-collect.md`)).toContain(`# Cycle ${p.cycle}: collected`);
    expect(commitCount(repo)).toBe(before + 2);
    const dry = run(repo, ['collect', '--dry-run']);
    expect(dry).toContain('## Completed');
    expect(commitCount(repo)).toBe(before + 2);
    refused(repo, ['collect', 'not-a-cycle'], 2, ['not-a-cycle']);
    refused(repo, ['collect', '20000101-000000-0000'], 1, ['20000101-000000-0000']);
  });
});

describe('templates', () => {
  it('an override committed on the branch (by orc or by plain git) changes the output; rm brings the default back', async () => {
    const repo = await planned();
    // Each dry run picks a new cycle id: compare without it.
    // …and without relative times: they come from the wall clock here, and may round differently a second later.
    const noCycle = (md: string) => md.replace(/\d{8}-\d{6}-[0-9a-f]{4}/g, 'CYCLE').replace(/\b(in \d+[smhd]|\d+[smhd] ago|just now)\b/g, 'WHEN').replace(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/g, 'AT');
    const base = noCycle(run(repo, ['plan', '--dry-run']));
    expect(base).toMatch(/^# Cycle /);
    const list = orcJson<{ name: string; from: string }[]>(repo, ['templates', 'list']);
    expect(list.map((t) => t.name)).toEqual(['brief.md', 'collect.md', 'plan.md', 'partials/events', 'partials/instructions', 'partials/task-line']);
    expect(new Set(list.map((t) => t.from))).toEqual(new Set(['default']));
    expect(run(repo, ['templates', 'show', 'plan'])).toBe(fs.readFileSync(path.join(path.dirname(ORC_BIN), '../../templates/plan.md.hbs'), 'utf8'));

    const before = commitCount(repo);
    const w = orcJson<{ path: string; commit: string }>(repo, ['templates', 'write', 'plan', '-'], { input: 'Sprint {{cycle}}: {{#each recommended_parallel}}{{> task-line}}{{/each}}' });
    expect(w.path).toBe('templates/plan.md.hbs');
    expect(commitCount(repo)).toBe(before + 1);
    expect(git(repo, 'show', 'orc:templates/plan.md.hbs')).toMatch(/^Sprint/);
    const over = run(repo, ['plan', '--dry-run']);
    expect(over).toMatch(/^Sprint \d{8}-\d{6}-[0-9a-f]{4}: - \*\*api\/build\*\* \(P1\): Build the payments endpoint\n$/);
    // A partial committed with plain git is used too, and shows in the list as from the branch.
    commitByHand(repo, { 'templates/partials/task-line.hbs': '* {{task_id}}!\n' });
    expect(run(repo, ['plan', '--dry-run'])).toMatch(/^Sprint \S+: \* build!\n$/);
    expect(orcJson<{ name: string; from: string }[]>(repo, ['templates', 'list']).filter((t) => t.from === 'branch').map((t) => t.name)).toEqual(['plan.md', 'partials/task-line']);
    // Writing the same text again commits nothing.
    const n = commitCount(repo);
    run(repo, ['templates', 'write', 'plan.md', '-'], { input: 'Sprint {{cycle}}: {{#each recommended_parallel}}{{> task-line}}{{/each}}' });
    expect(commitCount(repo)).toBe(n);
    run(repo, ['templates', 'rm', 'plan']);
    run(repo, ['templates', 'rm', 'partials/task-line']);
    expect(noCycle(run(repo, ['plan', '--dry-run']))).toBe(base);
    refused(repo, ['templates', 'rm', 'plan'], 1, ['plan.md']);
    refused(repo, ['templates', 'write', 'nosuch', '-'], 2, ['nosuch'], { input: 'x' });
    refused(repo, ['templates', 'write', '../plan', '-'], 2, ['../plan'], { input: 'x' });
    refused(repo, ['templates', 'show', 'partials/none'], 1, ['partials/none']);
  });

  it('a broken template is exit 2 naming the template and the line, and commits nothing', async () => {
    const repo = await planned();
    // Refused before it reaches the branch.
    refused(repo, ['templates', 'write', 'plan', '-'], 2, ['plan.md', 'line 3', 'Expecting'], { input: 'one\ntwo\n{{cycle}\nfour\n' });
    // Said as what it is: the text given, not a file on the branch.
    refused(repo, ['templates', 'write', 'plan', '-'], 2, ['template plan.md.hbs as given (nothing committed), line 3', 'fix it and write it again'], { input: 'one\ntwo\n{{cycle}\nfour\n' });
    // Committed with plain git, it fails the plan and the dry run alike.
    commitByHand(repo, { 'templates/plan.md.hbs': 'one\ntwo\n{{cycle}\nfour\n' });
    refused(repo, ['plan'], 2, ['templates/plan.md.hbs on the state branch', 'line 3', 'orc templates edit plan.md']);
    refused(repo, ['plan', '--dry-run'], 2, ['templates/plan.md.hbs', 'line 3']);
    // Render-time failures: an unknown helper, a missing partial, a broken partial.
    commitByHand(repo, { 'templates/plan.md.hbs': '# {{cycle}}\n\n{{shout cycle}}\n' });
    refused(repo, ['plan'], 2, ['templates/plan.md.hbs', 'line 3', 'Missing helper: "shout"']);
    commitByHand(repo, { 'templates/plan.md.hbs': '# {{cycle}}\n{{> nope}}\n' });
    refused(repo, ['plan'], 2, ['templates/plan.md.hbs', 'line 2', 'nope']);
    commitByHand(repo, { 'templates/plan.md.hbs': '# {{cycle}}\n{{#each recommended_parallel}}\n{{> task-line}}\n{{/each}}\n', 'templates/partials/task-line.hbs': '- {{task_id}}\n- {{#if}}{{/if}}\n' });
    refused(repo, ['plan'], 2, ['templates/partials/task-line.hbs', 'line 2']);
    // The brief template breaks the plan too (briefs are part of it) and `orc brief`.
    commitByHand(repo, { 'templates/partials/task-line.hbs': '- {{task_id}}\n', 'templates/brief.md.hbs': '# {{task.title}}\n{{#if}}{{/if}}\n' });
    refused(repo, ['plan'], 2, ['templates/brief.md.hbs', 'line 2', '#if requires exactly one argument']);
    refused(repo, ['brief', 'api'], 2, ['templates/brief.md.hbs']);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'orc')).not.toMatch(/^(plans|cycles|briefs)\//m);
    // Fixed, it plans.
    run(repo, ['templates', 'rm', 'brief']);
    run(repo, ['plan']);
    commitByHand(repo, { 'templates/collect.md.hbs': '{{/if}}' });
    refused(repo, ['collect'], 2, ['templates/collect.md.hbs', 'line 1']);
  });

  it('templates edit: $EDITOR edits a temp copy; saved and parsing, it is committed; broken or unchanged, nothing is', async () => {
    const repo = await planned();
    const bin = tmpDir('orc-editor-');
    const editor = (name: string, body: string) => {
      const p = path.join(bin, name);
      fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return p;
    };
    const before = commitCount(repo);
    const sprint = editor('sprint', `sed -i 's/^# Cycle /# Sprint /' "$1"`);
    expect(run(repo, ['templates', 'edit', 'plan'], { env: { EDITOR: sprint } })).toBe('committed templates/plan.md.hbs (' + git(repo, 'cat-file', '-s', 'orc:templates/plan.md.hbs') + ' bytes)\n');
    expect(commitCount(repo)).toBe(before + 1);
    expect(run(repo, ['plan', '--dry-run'])).toMatch(/^# Sprint /);
    // The editor opens the current override, not the default.
    const seen = path.join(bin, 'seen.txt');
    run(repo, ['templates', 'edit', 'plan'], { env: { EDITOR: editor('look', `cp "$1" '${seen}'`) } });
    expect(fs.readFileSync(seen, 'utf8')).toMatch(/^# Sprint /);
    expect(commitCount(repo)).toBe(before + 1);
    refused(repo, ['templates', 'edit', 'plan'], 2, ['plan.md', 'line 1'], { env: { EDITOR: editor('break', `printf '{{#if}}' > "$1"`) } });
    refused(repo, ['templates', 'edit', 'plan'], 2, ['empty'], { env: { EDITOR: editor('empty', `: > "$1"`) } });
    refused(repo, ['templates', 'edit', 'plan'], 2, ['exited'], { env: { EDITOR: editor('fail', 'exit 3') } });
    // VISUAL when EDITOR is unset; a partial can be edited too.
    // (vitest itself sets EDITOR, so it is emptied here.)
    run(repo, ['templates', 'edit', 'partials/task-line'], { env: { EDITOR: '', VISUAL: editor('star', `sed -i 's/^- /* /' "$1"`) } });
    expect(run(repo, ['plan', '--dry-run'])).toContain('* **api/build** (P1)');
    // No EDITOR, no VISUAL and no terminal (a script, an agent): refused, not vi painting into a pipe.
    const n = commitCount(repo);
    refused(repo, ['templates', 'edit', 'plan'], 2, ['no editor', 'orc templates write plan - < FILE'], { env: { EDITOR: '', VISUAL: '' } });
    expect(commitCount(repo)).toBe(n);
  });
});

describe('across clones', () => {
  it('a plan made on one clone is read on another after a fetch: files, collect and the team override', async () => {
    const f = await fixtureRepo();
    await buildState(f);
    f.at('2030-01-01T10:00:00Z');
    run(f.repo, ['templates', 'write', 'collect', '-'], { input: 'Collected {{cycle}} ({{plural planned.length "pick"}})\n' });
    await plan(f.orc, { cycle: CYCLE });
    const other = tmpDir('orc-clone-');
    git(other, 'clone', '-q', f.repo, 'b');
    const b = path.join(other, 'b');
    git(b, 'fetch', '-q', 'origin', 'orc:orc');
    expect(git(b, 'rev-parse', 'orc')).toBe(git(f.repo, 'rev-parse', 'orc'));
    expect(git(b, 'show', `orc:plans/${CYCLE}.md`)).toBe(git(f.repo, 'show', `orc:plans/${CYCLE}.md`));
    expect(git(b, 'show', 'orc:briefs/api/build.md')).toContain('orc t claim api build');
    expect(run(b, ['collect', '--dry-run'])).toBe(`Collected ${CYCLE} (3 picks)\n`);
    expect(orcJson<{ cycle: string }>(b, ['collect', '--dry-run']).cycle).toBe(CYCLE);
    expect(orcJson<{ name: string; from: string }[]>(b, ['templates', 'list']).find((t) => t.name === 'collect.md')!.from).toBe('branch');
    // The brief's commands work in the clone, as the brief says.
    run(b, ['t', 'claim', 'api', 'build'], { env: { ORC_AGENT: 'agent-9' } });
    expect(orcJson<{ assigned_to: string }>(b, ['t', 'show', 'api', 'build']).assigned_to).toBe('agent-9');
  });
});

describe('start-up', () => {
  it('the bundle loads Handlebars only for runner commands', async () => {
    // Node reports every CommonJS module it loads with NODE_DEBUG=module: a plain command must not load the runner's chunk.
    const repo = await planned();
    const loaded = (args: string[]) => spawnSync(process.execPath, [ORC_BIN, ...args], { cwd: repo, env: testEnv({ NODE_DEBUG: 'module' }), encoding: 'utf8' }).stderr;
    const plain = loaded(['t', 'add', 'api', 'one more']);
    expect(plain).toMatch(/core\.cjs/);
    expect(plain).not.toMatch(/runner\.cjs|handlebars/);
    expect(loaded(['plan', '--dry-run'])).toMatch(/runner\.cjs/);
  });
});
