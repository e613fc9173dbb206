/**
 * Messages through the CLI: `orc msg send/read/ack/thread` and `orc inbox`.
 * One file per message and one per recipient's state; bodies byte for byte;
 * @all and @ws: expanded at send time; bad input makes no commit.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, git, ORC_BIN, orc, testEnv, tmpRepo } from '../helpers.js';
import { changedPaths, eventsAdded, expectRefused, ok, opOf, tip } from './util.js';

afterAll(cleanup);

interface Msg {
  id: string;
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  thread: string;
  reply_to: string | null;
  importance: string;
  ack_required: boolean;
  bytes: number;
  addressed: { to: string[]; cc: string[] };
}
interface Entry extends Msg {
  unread: boolean;
  read_at: string | null;
  acked_at: string | null;
}

const as = (agent: string) => ({ env: { ORC_AGENT: agent } });

describe('messages', () => {
  let repo: string;
  beforeAll(() => {
    repo = tmpRepo();
    for (const a of ['alice', 'bob', 'carol', 'dave']) expect(orc(repo, ['a', 'register', a]).code).toBe(0);
    expect(orc(repo, ['ws', 'create', 'api']).code).toBe(0);
    for (const id of ['t1', 't2', 't3']) expect(orc(repo, ['t', 'add', 'api', `task ${id}`, '--id', id]).code).toBe(0);
    expect(orc(repo, ['t', 'claim', 'api', 't1', 'bob']).code).toBe(0);
    expect(orc(repo, ['t', 'claim', 'api', 't2', 'carol']).code).toBe(0);
  });

  let first: Msg;

  it('send is one commit by the sender: the message file, its body blob and a message_sent event', () => {
    const before = tip(repo);
    first = ok<Msg>(repo, ['msg', 'send', 'bob,carol', 'API changed', 'see kb api-design', '--cc', 'dave', '--importance', 'high', '--ack'], as('alice'));
    expect(first).toMatchObject({ from: 'alice', to: ['bob', 'carol'], cc: ['dave'], subject: 'API changed', importance: 'high', ack_required: true, thread: first.id, reply_to: null });
    const c = tip(repo)!;
    expect(git(repo, 'rev-list', '--count', `${before}..${c}`)).toBe('1');
    expect(git(repo, 'log', '-1', '--format=%an', c)).toBe('alice');
    const dir = `messages/${first.id.slice(0, 4)}/${first.id.slice(4, 6)}`;
    expect(changedPaths(repo, c, before).filter((p) => p.startsWith('messages/')).sort()).toEqual([`${dir}/${first.id}.body`, `${dir}/${first.id}.json`]);
    expect(git(repo, 'show', `orc:${dir}/${first.id}.body`)).toBe('see kb api-design');
    const ev = eventsAdded(repo, c, before);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ agent: 'alice', action: 'message_sent', message_id: first.id, to: ['bob', 'carol'], cc: ['dave'] });
    // The op is recorded with the body by blob id, so a replay has the exact bytes.
    const op = opOf(repo, c);
    expect(op.op).toBe('msg.send');
    expect(op.input.body).toEqual({ blob: git(repo, 'rev-parse', `orc:${dir}/${first.id}.body`), bytes: 17 });
  });

  it('inbox shows it unread per recipient; read marks it read for that agent only, in its own state file', () => {
    for (const a of ['bob', 'carol', 'dave']) {
      const box = ok<Entry[]>(repo, ['inbox', a]);
      expect(box.map((m) => [m.id, m.unread])).toEqual([[first.id, true]]);
    }
    expect(ok<Entry[]>(repo, ['inbox', 'alice'])).toEqual([]);
    const before = tip(repo);
    const r = orc(repo, ['msg', 'read', first.id], as('bob'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Id: .+\nFrom: alice\nTo: bob, carol\nCc: dave\n/);
    expect(r.stdout.endsWith('\n\nsee kb api-design')).toBe(true);
    const c = tip(repo)!;
    expect(git(repo, 'log', '-1', '--format=%an', c)).toBe('bob');
    expect(changedPaths(repo, c, before).filter((p) => p.startsWith('messages/'))).toEqual([`messages/state/bob/${first.id}.json`]);
    expect(eventsAdded(repo, c, before)[0]).toMatchObject({ agent: 'bob', action: 'message_read', message_id: first.id });
    // The message file itself is never rewritten.
    expect(git(repo, 'log', '--format=%h', 'orc', '--', `messages/${first.id.slice(0, 4)}/${first.id.slice(4, 6)}/${first.id}.json`).split('\n')).toHaveLength(1);
    expect(ok<Entry[]>(repo, ['inbox', 'bob', '--unread'])).toEqual([]);
    expect(ok<Entry[]>(repo, ['inbox', 'carol', '--unread']).map((m) => m.id)).toEqual([first.id]);
    // Reading again changes nothing: no commit.
    const t = tip(repo);
    expect(orc(repo, ['msg', 'read', first.id], as('bob')).code).toBe(0);
    expect(tip(repo)).toBe(t);
  });

  it('ack records an acknowledgement (and read) for that recipient; a non-recipient cannot ack', () => {
    const before = tip(repo);
    const st = ok(repo, ['msg', 'ack', first.id, '--agent', 'carol']);
    expect(st).toMatchObject({ id: first.id, agent: 'carol' });
    expect(st.acked_at).toBeTruthy();
    expect(st.read_at).toBe(st.acked_at);
    expect(eventsAdded(repo, tip(repo)!, before)[0]).toMatchObject({ agent: 'carol', action: 'message_acked', message_id: first.id });
    const box = ok<Entry[]>(repo, ['inbox', 'carol']);
    expect(box[0]).toMatchObject({ unread: false, acked_at: st.acked_at });
    expect(ok<Entry[]>(repo, ['inbox', 'bob'])[0]!.acked_at).toBeNull();
    expectRefused(repo, ['msg', 'ack', first.id, '--agent', 'alice'], 1, ['not addressed to alice']);
    expectRefused(repo, ['msg', 'ack', first.id], 2, ['name the agent']);
  });

  it('--thread joins the thread of the message answered; msg thread and inbox --thread list it', () => {
    const re = ok<Msg>(repo, ['msg', 'send', 'alice', 're: API changed', 'how long?', '--thread', first.id], as('bob'));
    expect(re).toMatchObject({ thread: first.id, reply_to: first.id, from: 'bob', to: ['alice'] });
    const re2 = ok<Msg>(repo, ['msg', 'send', 'bob', 're: re: API changed', 'an hour', '--thread', re.id], as('alice'));
    expect(re2).toMatchObject({ thread: first.id, reply_to: re.id });
    ok(repo, ['msg', 'send', 'bob', 'unrelated'], as('alice'));
    expect(ok<Msg[]>(repo, ['msg', 'thread', re2.id]).map((m) => m.id)).toEqual([first.id, re.id, re2.id]);
    expect(ok<Entry[]>(repo, ['inbox', 'bob', '--thread', re.id]).map((m) => m.id)).toEqual([re2.id, first.id]);
    expect(orc(repo, ['msg', 'thread', first.id]).stdout).toMatch(/bob -> alice {2}re: API changed/);
  });

  it('@ws: expands to the live claim holders of a workstream, @all to every other registered agent, recorded at send time', () => {
    const ws = ok<Msg>(repo, ['msg', 'send', '@ws:api', 'heads up'], as('alice'));
    expect(ws.to.sort()).toEqual(['bob', 'carol']);
    expect(ws.addressed.to).toEqual(['@ws:api']);
    // The sender holding a claim there is not sent its own message.
    const fromBob = ok<Msg>(repo, ['msg', 'send', '@ws:api', 'from a holder'], as('bob'));
    expect(fromBob.to).toEqual(['carol']);
    const all = ok<Msg>(repo, ['msg', 'send', '@all', 'everyone'], as('alice'));
    expect(all.to).toEqual(['bob', 'carol', 'dave']);
    // A later agent does not receive an earlier @all message: recipients were fixed when sent.
    expect(orc(repo, ['a', 'register', 'erin']).code).toBe(0);
    expect(ok<Entry[]>(repo, ['inbox', 'erin'])).toEqual([]);
    expect(ok<Entry[]>(repo, ['inbox', 'dave']).map((m) => m.subject)).toContain('everyone');
    // The operator (no agent) may send, as 'system'.
    const sys = ok<Msg>(repo, ['msg', 'send', 'erin', 'welcome']);
    expect(sys.from).toBe('system');
    expect(git(repo, 'log', '-1', '--format=%an', 'orc')).toBe('system');
  });

  it('bodies are kept byte for byte: stdin with CRLF, unicode, a BOM, trailing newlines, and bytes that are not UTF-8', () => {
    const body = Buffer.concat([Buffer.from('\uFEFFline one\r\nünïcödé 🚀 日本語\r\n\t<script>alert(1)</script>\n\n\n', 'utf8'), Buffer.from([0xff, 0xfe, 0x00, 0x80])]);
    const r = spawnSync(process.execPath, [ORC_BIN, 'msg', 'send', 'bob', 'bytes', '-', '--json'], { cwd: repo, env: testEnv({ ORC_AGENT: 'alice' }), input: body });
    expect(r.status, r.stderr.toString()).toBe(0);
    const m = JSON.parse(r.stdout.toString()) as Msg;
    expect(m.bytes).toBe(body.length);
    const dir = `messages/${m.id.slice(0, 4)}/${m.id.slice(4, 6)}`;
    const blob = spawnSync('git', ['cat-file', 'blob', `orc:${dir}/${m.id}.body`], { cwd: repo, env: testEnv() }).stdout;
    expect(Buffer.compare(blob, body)).toBe(0);
    const read = spawnSync(process.execPath, [ORC_BIN, 'msg', 'read', m.id], { cwd: repo, env: testEnv({ ORC_AGENT: 'bob' }) });
    expect(read.status).toBe(0);
    const out = read.stdout as Buffer;
    expect(Buffer.compare(out.subarray(out.length - body.length), body)).toBe(0);
    // A body given as an argument is its UTF-8 text.
    const text = 'two\r\nlines ✓';
    const t = ok<Msg>(repo, ['msg', 'send', 'bob', 'arg', text], as('alice'));
    expect(git(repo, 'cat-file', '-s', `orc:messages/${t.id.slice(0, 4)}/${t.id.slice(4, 6)}/${t.id}.body`)).toBe(String(Buffer.byteLength(text)));
  });

  it('an agent that claims without registering is reachable by name as by @ws:, while its claim is live', () => {
    const r = tmpRepo();
    ok(r, ['ws', 'create', 'api']);
    ok(r, ['a', 'register', 'alice']);
    const t = ok<{ id: string }>(r, ['t', 'add', 'api', 'work']);
    ok(r, ['t', 'claim', 'api', t.id, 'ghost']);
    const byName = ok<Msg>(r, ['msg', 'send', 'ghost', 'direct'], as('alice'));
    const byWs = ok<Msg>(r, ['msg', 'send', '@ws:api', 'to the workstream'], as('alice'));
    expect(byName.to).toEqual(['ghost']);
    expect(byWs.to).toEqual(['ghost']);
    // Its claim over, it is a name orc does not know: refused, naming why.
    ok(r, ['t', 'complete', 'api', t.id, 'done', '--agent', 'ghost']);
    expectRefused(r, ['msg', 'send', 'ghost', 'late'], 2, ['recipient "ghost" is not a registered agent and holds no live claim'], as('alice'));
  });

  it('bad input is refused with exit 2 and no commit: unknown recipient, empty subject, body over 1 MiB, hostile names', () => {
    expectRefused(repo, ['msg', 'send', 'nobody', 'hi'], 2, ['recipient "nobody" is not a registered agent'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob,nobody', 'hi'], 2, ['nobody'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', ''], 2, ['subject is missing'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', '   '], 2, ['subject is missing'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', 'two\nlines'], 2, ['line breaks'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', 'big', '-'], 2, ['limit is 1048576'], { ...as('alice'), input: 'x'.repeat(1_048_577) });
    expectRefused(repo, ['msg', 'send', '../../etc/passwd', 'hi'], 2, ['not allowed'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', 'hi', '--cc', 'a/b'], 2, ['not allowed'], as('alice'));
    expectRefused(repo, ['msg', 'send', '@ws:../x', 'hi'], 2, ['not allowed'], as('alice'));
    expectRefused(repo, ['msg', 'send', '@everyone', 'hi'], 2, ['not allowed'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', 'hi', '--importance', 'urgent'], 2, ['importance'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', 'hi', '--thread', '../../x'], 2, ['message id'], as('alice'));
    expectRefused(repo, ['msg', 'send', 'bob', 'hi', '--thread', '20260101000000-abcdef'], 1, ['no message'], as('alice'));
    expectRefused(repo, ['msg', 'send', '@ws:nope', 'hi'], 1, ['no workstream "nope"'], as('alice'));
    expectRefused(repo, ['msg', 'read', 'x/../y'], 2, ['message id'], as('bob'));
    expectRefused(repo, ['msg', 'read', '20260101000000-abcdef'], 1, ['no message'], as('bob'));
    // A message event cannot be forged as a free-form event.
    expectRefused(repo, ['event', 'message_sent', '{"message_id":"x"}'], 2, ['message_sent'], as('alice'));
    expectRefused(repo, ['event', 'message_anything'], 2, ['message_anything'], as('alice'));
    // Exactly 1 MiB is allowed.
    const r = orc(repo, ['msg', 'send', 'bob', 'exactly 1 MiB', '-'], { ...as('alice'), input: 'y'.repeat(1_048_576) });
    expect(r.code, r.stderr).toBe(0);
  });
});
