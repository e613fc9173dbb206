/**
 * DESIGN invariant 6 and the exit codes: bad input (exit 2), refused or not
 * found (exit 1), the environment (exit 3). Every failure is one line on
 * stderr starting with `orc:` that names the thing, with no stack trace, no
 * commit and nothing written in the work tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, orc, tmpDir, tmpRepo } from '../helpers.js';
import { commitByHand, commitCount, expectOneLineError, expectRefused, ok, tip } from './util.js';

afterAll(cleanup);

type Case = [label: string, args: string[], code: number, names: (string | RegExp)[]];

const long = 'n'.repeat(201);

describe('refusals leave no trace', () => {
  let repo: string;
  let id = '';
  let claimed = '';
  beforeAll(() => {
    repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'w']).code).toBe(0);
    id = orc(repo, ['t', 'add', 'w', 'A task']).stdout.trim();
    claimed = orc(repo, ['t', 'add', 'w', 'Claimed task']).stdout.trim();
    expect(orc(repo, ['t', 'claim', 'w', claimed, 'holder']).code).toBe(0);
    expect(orc(repo, ['lock', 'acquire', 'held', 'holder']).code).toBe(0);
    expect(orc(repo, ['kb', 'write', 'topic', 'text']).code).toBe(0);
  });

  const invalidNames: Case[] = [
    // workstream names
    ['workstream with ..', ['ws', 'create', 'a..b'], 2, ['workstream', 'a..b']],
    ['workstream with leading /', ['ws', 'create', '/abs'], 2, ['workstream', '/abs']],
    ['workstream with /', ['ws', 'create', 'a/b'], 2, ['workstream', 'a/b']],
    ['workstream with \\', ['ws', 'create', 'a\\b'], 2, ['workstream']],
    ['workstream with a control char', ['ws', 'create', 'a\u0001b'], 2, ['workstream', 'control']],
    ['workstream with a newline', ['ws', 'create', 'a\nb'], 2, ['workstream', 'control']],
    ['workstream with DEL', ['ws', 'create', 'a\u007fb'], 2, ['workstream']],
    ['empty workstream', ['ws', 'create', ''], 2, ['workstream']],
    ['workstream over 200 chars', ['ws', 'create', long], 2, ['workstream', '201', '200']],
    ['t add to a workstream with ..', ['t', 'add', '..', 'T'], 2, ['workstream', '..']],
    ['t list of a workstream with leading /', ['t', 'list', '/etc'], 2, ['workstream', '/etc']],
    // task ids
    ['task id with ..', ['t', 'add', 'w', 'T', '--id', '../x'], 2, ['task', '../x']],
    ['task id with \\', ['t', 'claim', 'w', 'a\\b', 'ag'], 2, ['task']],
    ['task id with leading /', ['t', 'show', 'w', '/etc/passwd'], 2, ['task', '/etc/passwd']],
    ['--after with ..', ['t', 'add', 'w', 'T', '--after', '..'], 2, ['task', '..']],
    // agent names
    ['agent with ..', ['t', 'claim', 'w', 'x', 'a..b'], 2, ['agent', 'a..b']],
    ['agent with leading /', ['a', 'register', '/root'], 2, ['agent', '/root']],
    ['agent with \\', ['lock', 'acquire', 'r', 'a\\b'], 2, ['agent']],
    ['agent with a control char', ['a', 'heartbeat', 'a\u0007b'], 2, ['agent', 'control']],
    ['empty agent', ['t', 'next', 'w', ''], 2, ['agent']],
    ['agent over 200 chars', ['a', 'register', long], 2, ['agent', '201']],
    ['agent type with a control character', ['a', 'register', 'ok-agent', 'bad\u0007type'], 2, ['agent type', 'control']],
    // knowledge topics
    ['topic with ..', ['kb', 'write', '../escape', 'x'], 2, ['topic', '../escape']],
    ['topic with .. in the middle', ['kb', 'write', 'a/../b', 'x'], 2, ['topic', 'a/../b']],
    ['topic with leading /', ['kb', 'write', '/abs', 'x'], 2, ['topic', '/abs']],
    ['topic with \\', ['kb', 'write', 'a\\b', 'x'], 2, ['topic']],
    ['topic with a control char', ['kb', 'write', 'a\u001bb', 'x'], 2, ['topic', 'control']],
    ['topic with an empty part', ['kb', 'write', 'a//b', 'x'], 2, ['topic', 'a//b']],
    ['topic with a dot-file part', ['kb', 'write', 'a/.git', 'x'], 2, ['topic', 'a/.git']],
    ['empty topic', ['kb', 'write', '', 'x'], 2, ['topic']],
    ['topic over 200 chars', ['kb', 'write', long, 'x'], 2, ['topic', '201']],
    ['kb rm with ..', ['kb', 'rm', '..'], 2, ['topic']],
    ['kb read with leading /', ['kb', 'read', '/etc/passwd'], 2, ['topic', '/etc/passwd']],
    ['t add --kb with ..', ['t', 'add', 'w', 'T', '--kb', '../x'], 2, ['topic', '../x']],
    // lock resources
    ['resource with ..', ['lock', 'acquire', '../x', 'ag'], 2, ['resource', '../x']],
    ['resource with .. in the middle', ['lock', 'acquire', 'src/../x', 'ag'], 2, ['resource', 'src/../x']],
    ['resource with leading /', ['lock', 'acquire', '/etc', 'ag'], 2, ['resource', '/etc']],
    ['resource with \\', ['lock', 'acquire', 'a\\b', 'ag'], 2, ['resource']],
    ['resource with a control char', ['lock', 'acquire', 'a\u0002b', 'ag'], 2, ['resource', 'control']],
    ['empty resource', ['lock', 'acquire', '', 'ag'], 2, ['resource']],
    ['resource over 200 chars', ['lock', 'release', long, 'ag'], 2, ['resource', '201']],
    ['t add --resource with leading /', ['t', 'add', 'w', 'T', '--resource', '/etc'], 2, ['resource', '/etc']],
    // titles and text
    ['title with a newline', ['t', 'add', 'w', 'two\nlines'], 2, ['title']],
    ['empty title', ['t', 'add', 'w', '   '], 2, ['title']],
    ['title over 500 chars', ['t', 'add', 'w', 't'.repeat(501)], 2, ['title', '501', '500']],
    ['description with a control char', ['t', 'add', 'w', 'T', 'bell\u0007'], 2, ['description', 'control']],
    ['result with a control char', ['t', 'complete', 'w', 'x', 'esc\u001b[0m'], 2, ['result', 'control']],
  ];

  const badNumbers: Case[] = [
    ['non-numeric ws priority', ['ws', 'create', 'w2', 'd', 'high'], 2, ['priority', 'high']],
    ['ws priority 0', ['ws', 'create', 'w2', 'd', '0'], 2, ['priority', '0']],
    ['ws priority 101', ['ws', 'create', 'w2', 'd', '101'], 2, ['priority', '101']],
    ['non-numeric task priority', ['t', 'add', 'w', 'T', 'd', 'urgent'], 2, ['priority', 'urgent']],
    ['fractional task priority', ['t', 'add', 'w', 'T', 'd', '1.5'], 2, ['priority', '1.5']],
    // An estimate may be text ("2h", as the original took it), but a number must be a whole one, not negative.
    ['negative estimate', ['t', 'add', 'w', 'T', '--estimate', '-2'], 2, ['estimate', '-2']],
    ['fractional estimate', ['t', 'add', 'w', 'T', '--estimate', '1.5'], 2, ['estimate', '1.5']],
    ['non-numeric lease on claim', ['t', 'claim', 'w', 'x', 'ag', '--lease', 'long'], 2, ['lease', 'long']],
    ['lease below 1 s', ['t', 'claim', 'w', 'x', 'ag', '--lease', '999'], 2, ['lease', '999']],
    ['non-numeric lease on next', ['t', 'next', 'w', 'ag', '--lease', '1e3'], 2, ['lease', '1e3']],
    ['non-numeric ttl', ['lock', 'acquire', 'r', 'ag', '--ttl', 'forever'], 2, ['ttl', 'forever']],
    ['negative ttl', ['lock', 'acquire', 'r', 'ag', '--ttl', '-5'], 2, ['ttl']],
    ['ttl over 30 days', ['lock', 'acquire', 'r', 'ag', '--ttl', String(31 * 24 * 3600_000)], 2, ['ttl']],
    ['non-numeric events --last', ['events', '--last', 'all'], 2, ['--last', 'all']],
    ['non-numeric log --last', ['log', '--last', 'x'], 2, ['--last']],
  ];

  const usage: Case[] = [
    ['unknown command', ['frobnicate'], 2, ['frobnicate']],
    // A near miss gets commander's suggestion, on the same line.
    ['misspelt command', ['stauts'], 2, ['stauts', 'did you mean status?']],
    ['misspelt subcommand', ['t', 'lst'], 2, ['lst', 'did you mean list?']],
    ['misspelt option', ['status', '--jsn'], 2, ['--jsn', 'did you mean --json?']],
    // A field list where --json takes none says so, instead of only "too many arguments".
    ['--json FIELDS on a command that is not a list', ['t', 'show', 'w', 'x', '--json', 'title'], 2, ['too many arguments', '--json takes a field list only on list commands']],
    ['unknown subcommand', ['t', 'frobnicate'], 2, ['frobnicate']],
    ['unknown option', ['t', 'list', 'w', '--bogus'], 2, ['--bogus']],
    ['invalid --status', ['t', 'list', 'w', '--status', 'weird'], 2, ['weird']],
    ['ws create without a name', ['ws', 'create'], 2, ['name']],
    ['t add without arguments', ['t', 'add'], 2, ['workstream']],
    ['t add without a title', ['t', 'add', 'w'], 2, ['title']],
    ['t show without an id', ['t', 'show', 'w'], 2, ['id']],
    ['t claim without an id', ['t', 'claim', 'w'], 2, ['id']],
    ['t complete without an id', ['t', 'complete', 'w'], 2, ['id']],
    ['kb write without content', ['kb', 'write', 'topic'], 2, ['content']],
    ['kb read without a topic', ['kb', 'read'], 2, ['topic']],
    ['lock acquire without a resource', ['lock', 'acquire'], 2, ['resource']],
    ['lock release without a resource', ['lock', 'release'], 2, ['resource']],
    ['event without an action', ['event'], 2, ['action']],
    ['claim without any agent', ['t', 'claim', 'w', 'x'], 2, ['agent']],
    ['next without any agent', ['t', 'next', 'w'], 2, ['agent']],
    ['lock acquire without any agent', ['lock', 'acquire', 'r'], 2, ['agent']],
    // An empty value is not "no --remote": it is refused, not taken for a plain init.
    ['init --remote with an empty name', ['init', '--remote', ''], 2, ['remote name ""', 'git remote']],
  ];

  const notFound: Case[] = [
    ['ws create of an existing name', ['ws', 'create', 'w'], 1, ['w', 'exists']],
    ['t add to an unknown workstream', ['t', 'add', 'nows', 'T'], 1, ['nows']],
    ['t list of an unknown workstream', ['t', 'list', 'nows'], 1, ['nows']],
    ['t show in an unknown workstream', ['t', 'show', 'nows', 'x'], 1, ['nows']],
    ['t show of an unknown task', ['t', 'show', 'w', 'no-task'], 1, ['no-task']],
    ['t claim in an unknown workstream', ['t', 'claim', 'nows', 'x', 'ag'], 1, ['nows']],
    ['t claim of an unknown task', ['t', 'claim', 'w', 'no-task', 'ag'], 1, ['no-task']],
    ['t next in an unknown workstream', ['t', 'next', 'nows', 'ag'], 1, ['nows']],
    ['t complete of an unknown task', ['t', 'complete', 'w', 'no-task'], 1, ['no-task']],
    ['t fail in an unknown workstream', ['t', 'fail', 'nows', 'x'], 1, ['nows']],
    ['kb read of an unknown topic', ['kb', 'read', 'no-topic'], 1, ['no-topic']],
    ['kb rm of an unknown topic', ['kb', 'rm', 'no/topic'], 1, ['no/topic']],
    ['lock release of an unheld lock', ['lock', 'release', 'free', 'ag'], 1, ['free']],
    ['lock acquire of a held lock', ['lock', 'acquire', 'held', 'other'], 1, ['held', 'holder']],
    ['lock release by a non-holder', ['lock', 'release', 'held', 'other'], 1, ['held', 'holder']],
  ];

  it.each(invalidNames)('invalid name: %s → exit 2', (_l, args, code, names) => {
    expectRefused(repo, args, code, names);
  });
  it.each(badNumbers)('bad number: %s → exit 2', (_l, args, code, names) => {
    expectRefused(repo, args, code, names);
  });
  it.each(usage)('usage: %s → exit 2', (_l, args, code, names) => {
    expectRefused(repo, args, code, names);
  });
  it.each(notFound)('refused or not found: %s → exit 1', (_l, args, code, names) => {
    expectRefused(repo, args, code, names);
  });

  it('refused claims and completions of a live claim (exit 1)', () => {
    expectRefused(repo, ['t', 'claim', 'w', claimed, 'other'], 1, [claimed, 'holder']);
    expectRefused(repo, ['t', 'complete', 'w', claimed, 'mine now', '--agent', 'other'], 1, [claimed, 'holder']);
    expectRefused(repo, ['t', 'fail', 'w', claimed, 'nope'], 1, [claimed, 'holder'], { env: { ORC_AGENT: 'other' } });
    // Named for what was tried: a fail is not called a complete.
    expectRefused(repo, ['t', 'fail', 'w', claimed, 'nope', '--agent', 'other'], 1, [claimed, 'can fail it']);
    expectRefused(repo, ['t', 'complete', 'w', claimed, 'yes', '--agent', 'other'], 1, [claimed, 'can complete it']);
  });

  it('--json does not change exit codes or turn errors into stdout', () => {
    const r = expectRefused(repo, ['t', 'show', 'w', 'no-task', '--json'], 1, ['no-task']);
    expect(r.stdout).toBe('');
    const i = expectRefused(repo, ['ws', 'create', 'a..b', '--json'], 2, ['a..b']);
    expect(i.stdout).toBe('');
  });

  it('--help and --version exit 0', () => {
    const h = orc(repo, ['--help']);
    expect(h.code).toBe(0);
    for (const c of ['init', 'status', 'ws', 't', 'a', 'lock', 'kb', 'events', 'event', 'log', 'plan']) expect(h.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const v = orc(repo, ['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('none of the refusals above made a commit', () => {
    // The 6 set-up ops (ws create, 2 × t add, claim, lock acquire, kb write) and nothing else.
    expect(commitCount(repo)).toBe(6);
  });
});

describe('the environment (exit 3)', () => {
  it('outside a git repository: exit 3 naming the folder, nothing created', () => {
    const dir = tmpDir('orc-norepo-');
    for (const args of [['status'], ['ws', 'create', 'x'], ['t', 'add', 'w', 'T'], ['init'], ['kb', 'write', 'a', 'b'], ['lock', 'acquire', 'r', 'ag']]) {
      const r = orc(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expectOneLineError(r.stderr, ['not a git repository', dir]);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('--repo naming a missing folder or a folder that is not a repo: exit 3', () => {
    const dir = tmpDir('orc-norepo-');
    const missing = path.join(dir, 'missing');
    const r = orc(dir, ['status', '--repo', missing]);
    expect(r.code).toBe(3);
    expectOneLineError(r.stderr, [missing]);
    const e = orc(dir, ['ws', 'list'], { env: { ORC_REPO: dir } });
    expect(e.code).toBe(3);
    expectOneLineError(e.stderr, ['not a git repository']);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a hand-corrupted task file: t list exits 3 naming the file and the commit, no stack trace, and writes refuse without a commit', () => {
    const repo = tmpRepo();
    expect(orc(repo, ['ws', 'create', 'w']).code).toBe(0);
    const good = orc(repo, ['t', 'add', 'w', 'fine']).stdout.trim();
    const bad = orc(repo, ['t', 'add', 'w', 'to be corrupted']).stdout.trim();
    const file = git(repo, 'ls-tree', '-r', '--name-only', 'orc', 'workstreams/w/tasks/').split('\n').find((p) => p.endsWith(`/${bad}.json`))!;
    expect(file).toBeTruthy();
    const corrupt = commitByHand(repo, { [file]: '{"id": "' + bad + '", "title": "half-writ' }, { message: 'corrupt a task by hand' });
    expect(tip(repo)).toBe(corrupt);
    expect(git(repo, 'show', `orc:${file}`)).toContain('half-writ');
    const fp = git(repo, 'status', '--porcelain');

    const r = orc(repo, ['t', 'list', 'w']);
    expect(r.code).toBe(3);
    expectOneLineError(r.stderr, [file, corrupt.slice(0, 12)]);
    expect(r.stdout).toBe('');
    for (const args of [['t', 'list', 'w', '--json'], ['t', 'show', 'w', bad], ['ws', 'list'], ['status']]) {
      const x = orc(repo, args);
      expect(x.code, `${args.join(' ')}: ${x.stderr}`).toBe(3);
      expectOneLineError(x.stderr, [file, corrupt.slice(0, 12)]);
    }
    // A write that must read the broken file refuses and commits nothing.
    expectRefused(repo, ['t', 'next', 'w', 'ag'], 3, [file]);
    expectRefused(repo, ['t', 'claim', 'w', bad, 'ag'], 3, [file]);
    // Others still work, and the good task is untouched.
    expect(ok(repo, ['t', 'show', 'w', good]).title).toBe('fine');
    expect(git(repo, 'status', '--porcelain')).toBe(fp);
  });

  it('a branch named orc/<something> blocks refs/heads/orc: exit 3 with one line that names the clash or the fix, nothing written', () => {
    const repo = tmpRepo();
    git(repo, 'branch', 'orc/feature');
    const refsBefore = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
    for (const args of [['init'], ['ws', 'create', 'w']]) {
      const r = orc(repo, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expectOneLineError(r.stderr, [/orc\/feature|orc\.branch/]);
    }
    expect(git(repo, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(refsBefore);
    expect(fs.existsSync(path.join(repo, '.git', 'refs', 'heads', 'orc.lock'))).toBe(false);
    // With another branch name configured, orc works.
    git(repo, 'config', 'orc.branch', 'orc-state');
    expect(orc(repo, ['ws', 'create', 'w']).code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'orc-state')).toContain('workstreams');
    // A full ref name is refused (it made refs/heads/refs/heads/…), naming the short name to give.
    git(repo, 'config', 'orc.branch', 'refs/heads/other');
    const refs = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
    const full = orc(repo, ['ws', 'create', 'v']);
    expect(full.code).toBe(3);
    expectOneLineError(full.stderr, ['refs/heads/other', 'full ref name', 'git config orc.branch other']);
    expect(git(repo, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(refs);
  });

  it('a state branch in a newer format (orc.json format 99): exit 3 asking to upgrade, no commit', () => {
    const repo = tmpRepo();
    commitByHand(repo, { 'orc.json': JSON.stringify({ format: 99, created_at: new Date().toISOString(), settings: {} }) }, { root: true, message: 'from the future' });
    const before = tip(repo);
    for (const args of [['status'], ['init'], ['ws', 'create', 'x'], ['event', 'hello'], ['a', 'register', 'ag']]) {
      const r = expectRefused(repo, args, 3, ['99', /upgrade/i]);
      expect(r.stdout).toBe('');
    }
    expect(tip(repo)).toBe(before);
  });
});
