/**
 * The shared remote's pre-receive guard decides messages again like every
 * other op: a send (its body recorded by blob id), a read and an ack pushed
 * by orc pass; a push whose message body is not the blob its Orc-Op names is
 * refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, git, tmpDir } from '../helpers.js';
import { gitE, hookEnv, hookedRemoteAndHost, orcOk } from './fixtures.js';

afterAll(cleanup);

describe('pre-receive and messages', () => {
  it('passes orc-made msg.send/read/ack and refuses a body that is not the recorded blob', () => {
    const env = hookEnv();
    const { bare, url, host } = hookedRemoteAndHost(env);
    orcOk(host, env, 'a', 'register', 'alice');
    orcOk(host, env, 'a', 'register', 'bob');
    orcOk(host, env, 'init', '--remote', 'origin');
    const m = JSON.parse(orcOk(host, { ...env, ORC_AGENT: 'alice' }, 'msg', 'send', 'bob', 'through the hook', 'body\r\nbytes ✓', '--json')) as { id: string };
    orcOk(host, { ...env, ORC_AGENT: 'bob' }, 'msg', 'read', m.id);
    orcOk(host, { ...env, ORC_AGENT: 'bob' }, 'msg', 'ack', m.id);
    expect(git(bare, 'rev-parse', 'orc')).toBe(git(host, 'rev-parse', 'orc'));
    expect(git(bare, 'log', '--format=%s', '-3', 'orc')).toMatch(/message .* from alice to bob: through the hook/);

    // A forged commit: the op says one body, the tree holds another.
    const tip = git(host, 'rev-parse', 'orc');
    const dir = `messages/${m.id.slice(0, 4)}/${m.id.slice(4, 6)}`;
    const msg = git(host, 'log', '-1', '--format=%B', 'orc~2');
    const opLine = msg.split('\n').find((l) => l.startsWith('Orc-Op: '))!;
    const op = JSON.parse(opLine.slice(8)) as { input: { id: string; body: { blob: string } } };
    const id2 = `${m.id.slice(0, 14)}-ffffff`;
    op.input.id = id2;
    const index = path.join(tmpDir('orc-index-'), 'index');
    const e = { ...env, GIT_INDEX_FILE: index };
    const run = (...args: string[]) => {
      const r = gitE(host, e, ...args);
      if (r.code !== 0) throw new Error(r.stderr);
      return r.stdout.trim();
    };
    run('read-tree', tip);
    const file = path.join(path.dirname(index), 'f');
    fs.writeFileSync(file, 'another body');
    const forged = run('hash-object', '-w', file);
    fs.writeFileSync(file, git(host, 'show', `orc~2:${dir}/${m.id}.json`).replace(m.id, id2).replace(m.id, id2));
    const json = run('hash-object', '-w', file);
    run('update-index', '--add', '--cacheinfo', `100644,${forged},${dir}/${id2}.body`);
    run('update-index', '--add', '--cacheinfo', `100644,${json},${dir}/${id2}.json`);
    fs.writeFileSync(file, `forged\n\nOrc-Op: ${JSON.stringify(op)}\nOrc-Agent: alice\n`);
    const c = run('commit-tree', run('write-tree'), '-p', tip, '-F', file);
    const r = gitE(host, env, 'push', '--porcelain', url, `${c}:refs/heads/orc`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/records msg\.send of blob [0-9a-f]+, which the push does not contain at messages\//);
    expect(git(bare, 'rev-parse', 'orc')).toBe(tip);
  });
});
