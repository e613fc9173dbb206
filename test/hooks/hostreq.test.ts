/**
 * The shared remote's pre-receive guard and host request refs
 * (refs/orc/hosts/<host>/req|ans, src/ops/hostreq.ts): orc's own pass, the
 * branch commits and answers of one atomic push together; a forged one
 * (another host's JSON, a commit with a parent or files, not JSON, a bad
 * name, a deletion) is refused. Real pushes to a bare repo over file://.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, tmpDir } from '../helpers.js';
import { gitE, hookEnv, hookedRemoteAndHost, orcOk } from './fixtures.js';

const env = hookEnv();
afterAll(cleanup);

function handCommit(repo: string, message: string, parents: string[] = []): string {
  const t = gitE(repo, env, 'hash-object', '-t', 'tree', '-w', '/dev/null').stdout;
  const file = path.join(tmpDir('orc-msg-'), 'msg');
  fs.writeFileSync(file, message);
  const r = gitE(repo, env, 'commit-tree', t, ...parents.flatMap((p) => ['-p', p]), '-F', file);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('pre-receive on host request refs', () => {
  it("passes orc's own requests and answers, and refuses forged ones and deletions", () => {
    const { bare, url, host } = hookedRemoteAndHost(env);
    orcOk(host, env, 'init', '--remote', 'origin');
    orcOk(host, env, 'ws', 'create', 'W');
    orcOk(host, env, 't', 'add', 'W', 'one', '--id', 't-1');
    orcOk(host, env, 'sync');
    // Every exclusive op published first: the request, then the claim and its answer in one atomic push, all through the hook.
    git(host, 'config', 'orc.hostRequests', 'always');
    const r = orcOk(host, env, 't', 'claim', 'W', 't-1', 'agent-1', '--json');
    expect(JSON.parse(r)).toMatchObject({ id: 't-1', assigned_to: 'agent-1' });
    const id = fs.readFileSync(path.join(host, '.git', 'orc', 'writer-id'), 'utf8').trim();
    const ans = gitE(bare, env, 'log', '-1', '--format=%B', `refs/orc/hosts/${id}/ans`);
    expect(ans.code).toBe(0);
    expect(Object.values((JSON.parse(ans.stdout) as { answers: object }).answers)).toMatchObject([{ ok: true, result: { id: 't-1' } }]);
    expect(gitE(bare, env, 'rev-parse', '-q', '--verify', `refs/orc/hosts/${id}/req`).code).toBe(0);

    const rogue = path.join(tmpDir('orc-rogue-'), 'rogue');
    expect(gitE(path.dirname(rogue), env, 'clone', '-q', url, rogue).code).toBe(0);
    const refused = (spec: string, why: RegExp) => {
      const p = gitE(rogue, env, 'push', '--porcelain', url, spec);
      expect(p.code).not.toBe(0);
      expect(p.stdout + p.stderr).toMatch(/pre-receive hook declined/);
      expect(p.stderr).toMatch(why);
    };
    const ref = `refs/orc/hosts/${id}/ans`;
    refused(`+${handCommit(rogue, `${JSON.stringify({ v: 1, host: 'beef0001', answers: {} })}\n`)}:${ref}`, /not a request-ref commit of host/);
    refused(`+${handCommit(rogue, 'answers, trust me\n')}:${ref}`, /not JSON/);
    refused(`+${handCommit(rogue, `${JSON.stringify({ v: 1, host: id, answers: {} })}\n`, [git(rogue, 'rev-parse', 'HEAD')])}:${ref}`, /has a parent or files/);
    refused(`+${handCommit(rogue, `${JSON.stringify({ v: 1, host: id, answers: { x: { ok: 'yes' } } })}\n`)}:${ref}`, /does not hold \{"answers"/);
    refused(`+${handCommit(rogue, `${JSON.stringify({ v: 1, host: id, requests: [] })}\n`)}:refs/orc/hosts/${id}/req`, /does not hold \{"low"/);
    refused(`+${handCommit(rogue, `${JSON.stringify({ v: 1, host: id, low: 1, requests: [] })}\n`)}:refs/orc/hosts/NOT_A_HOST/req`, /is not a host's request ref/);
    refused(`:${ref}`, /deleting a host's request ref is refused/);
    // A well-formed one made by hand passes, like any git client's.
    const ok = gitE(rogue, env, 'push', '--porcelain', url, `+${handCommit(rogue, `${JSON.stringify({ v: 1, host: 'beef0001', low: 1, requests: [] })}\n`)}:refs/orc/hosts/beef0001/req`);
    expect(ok.stderr).not.toMatch(/declined/);
    expect(ok.code).toBe(0);
  }, 60_000);
});
