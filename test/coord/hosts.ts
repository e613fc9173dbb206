/**
 * The two settings every coordination rule is tested in: two agents on one
 * host (one repo), and two hosts sharing a bare remote over file://, each
 * `orc init --remote origin`. Real git, the real `orc` binary.
 */
import { expect } from 'vitest';
import { git, orc, tmpRepo, type RunResult } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, orcOk } from '../sync/daemon.js';

export interface Hosts {
  /** Where agent A runs its commands. */
  a: string;
  /** Where agent B runs its commands (the same repo on one host). */
  b: string;
  /** The bare remote, or null on one host. */
  bare: string | null;
  /** A further host (through the remote: a new clone; on one host: the same repo). */
  another(name: string): string;
}

export const settings: [string, () => Hosts][] = [
  ['one host', () => {
    const repo = tmpRepo();
    orcOk(repo, ['init']);
    return { a: repo, b: repo, bare: null, another: () => repo };
  }],
  ['two hosts through a bare remote', () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    const seed = tmpRepo();
    git(seed, 'remote', 'add', 'origin', url);
    git(seed, 'push', '-q', 'origin', 'main');
    orcOk(seed, ['init', '--remote', 'origin']);
    return { a: cloneHost(url, 'host-a'), b: cloneHost(url, 'host-b'), bare, another: (name) => cloneHost(url, name) };
  }],
];

/** `orc ARGS --json` that must succeed, parsed. */
export function okJson<T = any>(cwd: string, args: string[], env?: Record<string, string>): T {
  const r = orc(cwd, [...args, '--json'], { env });
  expect(r.code, `orc ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** Runs `orc ARGS` that must be refused with `code`: one `orc:` line on stderr naming each of `names`. */
export function refused(cwd: string, args: string[], code: number, names: string[], env?: Record<string, string>): RunResult {
  const r = orc(cwd, args, { env });
  const label = `orc ${args.join(' ')} → ${r.code}: ${r.stderr}`;
  expect(r.code, label).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, label).toHaveLength(1);
  expect(lines[0], label).toMatch(/^orc: \S/);
  for (const n of names) expect(lines[0], label).toContain(n);
  return r;
}

/** The state branch's tip where the agents' decisions are made: the remote's when there is one. */
export function pointOfOrder(h: Hosts): string {
  return h.bare ? git(h.bare, 'rev-parse', 'orc') : git(h.a, 'rev-parse', 'orc');
}

/** Where to read the branch's objects (the bare remote has every published commit). */
export function historyRepo(h: Hosts): string {
  return h.bare ?? h.a;
}
