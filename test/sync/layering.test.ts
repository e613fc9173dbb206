/**
 * The layer rule (cli/server/mcp -> ops -> model -> store) with no cycles:
 * no module under ops/, model/ or store/ imports a layer above it, statically
 * or with import(). The sync replay of a runner op (plan) still works: the
 * CLI sets the op loader that brings the runner in when a replay needs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, git, orc, orcJson } from '../helpers.js';
import { bareRemote, cloneHost, fileUrl, orcOk, seedRemote, takeOffline } from './daemon.js';

const ABOVE: Record<string, string[]> = {
  store: ['ops', 'model', 'runner', 'cli', 'server', 'hooks', 'demo'],
  model: ['ops', 'runner', 'cli', 'server', 'hooks', 'demo'],
  ops: ['runner', 'cli', 'server', 'hooks', 'demo'],
};

describe('layering', () => {
  it('ops, model and store import nothing above them, not even lazily', () => {
    const bad: string[] = [];
    for (const [layer, above] of Object.entries(ABOVE)) {
      const dir = path.join(ROOT, 'src', layer);
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        // Static imports and re-exports (type-only ones are erased, so they make no cycle), and import().
        const specs = [
          ...[...text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+['"](\.\.\/[^'"]+)['"]/gm)].map((m) => m[1]!),
          ...[...text.matchAll(/import\s*\(\s*['"](\.\.\/[^'"]+)['"]/g)].map((m) => m[1]!),
        ];
        for (const spec of specs) if (above.includes(spec.split('/')[1]!)) bad.push(`src/${layer}/${f} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('a runner op committed offline is replayed onto the remote tip by `orc sync` (the runner comes through the op loader)', async () => {
    const { bare } = bareRemote();
    const url = fileUrl(bare);
    await seedRemote(url, 2);
    const a = cloneHost(url, 'a');
    const b = cloneHost(url, 'b');
    const back = takeOffline(bare);
    const r = orc(a, ['plan', '--json']);
    back();
    expect(r.code, r.stderr).toBe(0);
    orcOk(b, ['t', 'add', 'W', 'meanwhile']); // the remote moves on: a's plan must be replayed, not fast-forwarded
    orcOk(b, ['sync']);
    const report = orcJson<{ replayed: number; refused: unknown[] }>(a, ['sync']);
    expect(report.refused).toEqual([]);
    expect(report.replayed).toBeGreaterThan(0);
    expect(git(bare, 'log', '-1', '--format=%B', 'orc')).toMatch(/"op":"runner\.plan"/);
  });
});
