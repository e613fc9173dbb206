/**
 * Several agents on one host with a remote: CLI processes in two worktrees
 * of one clone, and two library agents in this process on that clone, race
 * for tasks through a bare remote. Concurrent `git fetch` in one clone used
 * to lose git's lock on refs/remotes/origin/orc and report it as "remote
 * cannot be reached" (exit 3). Proves: no process fails with exit 3, no task
 * is claimed twice, every reported claim is in the remote's history, and the
 * clone keeps no temporary fetch refs.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { open } from '../../src/ops/orc.js';
import { git, testEnv } from '../helpers.js';
import { runOrc, type ProcResult } from '../race-helpers.js';
import { bareRemote, cloneHost, fileUrl, gitRaw, seedRemote } from './daemon.js';

const TASKS = 24;

describe('two worktrees and two library agents of one clone race through one remote', () => {
  it('never reports a lost local fetch race as an unreachable remote, and claims each task once', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    await seedRemote(url, TASKS);
    const clone = cloneHost(url, 'host');
    const second = path.join(path.dirname(clone), 'wt2');
    git(clone, 'worktree', 'add', '-q', '-b', 'side', second);

    const claimed: { agent: string; id: string }[] = [];
    const failures: string[] = [];
    // Two CLI loops per worktree: `orc t next W agent --json` until it prints null.
    const cliLoop = async (cwd: string, agent: string): Promise<void> => {
      for (let i = 0; i < TASKS + 5; i++) {
        const r: ProcResult = await runOrc(cwd, ['t', 'next', 'W', agent, '--json']);
        // Nothing left to claim: `null`, exit 1 (as the original tool's next).
        if (r.code === 1 && r.stdout.trim() === 'null') return;
        if (r.code !== 0) {
          failures.push(`${agent}: exit ${r.code}: ${r.stderr.trim()}`);
          continue;
        }
        const t = JSON.parse(r.stdout) as { id: string } | null;
        if (!t) return;
        claimed.push({ agent, id: t.id });
      }
    };
    // Two library agents in this process, on the same clone.
    const libLoop = async (agent: string): Promise<void> => {
      const o = await open({ repo: clone, env: testEnv() });
      for (let i = 0; i < TASKS + 5; i++) {
        try {
          const t = await o.getNextTask('W', agent);
          if (!t) return;
          claimed.push({ agent, id: t.id });
        } catch (e) {
          failures.push(`${agent}: ${(e as Error).message}`);
        }
      }
    };
    await Promise.all([cliLoop(clone, 'cli-a'), cliLoop(clone, 'cli-b'), cliLoop(second, 'cli-c'), cliLoop(second, 'cli-d'), libLoop('lib-e'), libLoop('lib-f')]);

    expect(failures).toEqual([]);
    const ids = claimed.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(TASKS);
    // Every reported claim is on the remote, by the agent that was told it won.
    const remote = git(bare, 'log', '--format=%an %s', 'orc');
    for (const c of claimed) expect(remote).toMatch(new RegExp(`^${c.agent} .*${c.id}`, 'm'));
    // The clone's own fetch refs were removed after use; the tracking ref follows the remote.
    expect(gitRaw(clone, 'for-each-ref', 'refs/orc/fetch/').stdout).toBe('');
    expect(git(clone, 'rev-parse', 'refs/remotes/origin/orc')).toBe(git(bare, 'rev-parse', 'orc'));
  }, 240_000);
});
