/**
 * Git's own maintenance beside orc: `git gc --auto` (made to trigger often),
 * `git repack -ad` and `git maintenance run --task=loose-objects` loop while
 * 4 orc processes add tasks, write knowledge and claim. Objects move from
 * loose files into new packs and fan-out folders vanish under orc's writes.
 * Proves: every orc op succeeds, nothing reported is lost, `git fsck` is clean.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, orcJson, testEnv, tmpRepo } from '../helpers.js';
import { fsck, fsckProblems, runOrc } from '../race-helpers.js';

afterAll(cleanup);

const WINDOW_MS = 15_000;

function gitAsync(cwd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn('git', args, { cwd, env: testEnv(), stdio: 'ignore' });
    c.on('close', (code) => resolve(code ?? -1));
  });
}

describe('git gc, repack and maintenance looping beside 4 orc processes', () => {
  it('every op succeeds, every reported task and topic is there, fsck is clean', async () => {
    const repo = tmpRepo();
    git(repo, 'config', 'gc.auto', '20');
    git(repo, 'config', 'gc.autoPackLimit', '2');
    git(repo, 'config', 'gc.autoDetach', 'false');
    git(repo, 'config', 'maintenance.loose-objects.auto', '1');
    orcJson(repo, ['ws', 'create', 'W']);
    const end = Date.now() + WINDOW_MS;

    const maint = async (): Promise<number> => {
      let rounds = 0;
      const cmds = [['gc', '--auto', '--quiet'], ['repack', '-adq'], ['maintenance', 'run', '--task=loose-objects', '--quiet']];
      while (Date.now() < end) {
        await gitAsync(repo, cmds[rounds % cmds.length]!);
        rounds++;
      }
      return rounds;
    };

    const failures: string[] = [];
    const added: string[] = [];
    const topics: string[] = [];
    let claims = 0;
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; Date.now() < end; i++) {
        const kind = i % 3;
        const args =
          kind === 0 ? ['t', 'add', 'W', `task ${n}-${i}`, '--json']
          : kind === 1 ? ['kb', 'write', `notes/w${n}-${i}`, `text ${n} ${i}`, '--json']
          : ['t', 'next', 'W', `agent-${n}`, '--json'];
        const r = await runOrc(repo, args);
        if (kind === 2 && r.code === 1 && r.stdout.trim() === 'null') continue;
        if (r.code !== 0) {
          failures.push(`${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
          continue;
        }
        if (kind === 0) added.push((JSON.parse(r.stdout) as { id: string }).id);
        if (kind === 1) topics.push(`notes/w${n}-${i}`);
        if (kind === 2) claims++;
      }
    };
    const [rounds] = await Promise.all([maint(), worker(1), worker(2), worker(3), worker(4)]);

    expect(failures).toEqual([]);
    expect(rounds).toBeGreaterThan(3);
    expect(added.length).toBeGreaterThan(10);
    const tasks = orcJson<{ id: string; status: string }[]>(repo, ['t', 'list', 'W']);
    expect(tasks.map((t) => t.id).sort()).toEqual([...added].sort());
    expect(tasks.filter((t) => t.status === 'in_progress').length).toBe(claims);
    const kb = orcJson<string[]>(repo, ['kb', 'list']);
    for (const t of topics) expect(kb).toContain(t);
    const f = fsck(repo);
    expect(fsckProblems(f.output), f.output).toEqual([]);
  }, 120_000);
});
