/**
 * `orc prime` shows the agent's unread messages: how many and the newest
 * few subjects; reading one takes it off.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, orc, orcJson, tmpRepo } from '../helpers.js';

afterAll(cleanup);

describe('orc prime and messages', () => {
  it('lists unread messages (count and newest subjects) for the agent, not others', () => {
    const repo = tmpRepo();
    for (const a of ['me', 'you']) orc(repo, ['a', 'register', a]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(orcJson<{ id: string }>(repo, ['msg', 'send', 'me', `note ${i}`, ...(i === 4 ? ['--importance', 'high'] : [])], { env: { ORC_AGENT: 'you' } }).id);
    orc(repo, ['msg', 'send', 'you', 'not for me'], { env: { ORC_AGENT: 'me' } });
    const j = orcJson<any>(repo, ['prime', '--agent', 'me']);
    expect(j.messages.unread).toBe(5);
    expect(j.messages.latest.map((m: { subject: string }) => m.subject)).toEqual(['note 4', 'note 3', 'note 2']);
    const text = orc(repo, ['prime'], { env: { ORC_AGENT: 'me' } }).stdout;
    expect(text).toContain('## Unread messages (5)');
    expect(text).toContain(`- ${ids[4]} from you [high]: note 4`);
    expect(text).toContain('`orc inbox --unread` lists all');
    expect(text).not.toContain('not for me');
    expect(orc(repo, ['msg', 'read', ids[4]!], { env: { ORC_AGENT: 'me' } }).code).toBe(0);
    expect(orcJson<any>(repo, ['prime', '--agent', 'me']).messages.unread).toBe(4);
    expect(orcJson<any>(repo, ['prime', '--agent', 'you']).messages).toMatchObject({ unread: 1, latest: [expect.objectContaining({ subject: 'not for me' })] });
  });

  it("a task's brief shows its assignee's unread messages; none when it has none", () => {
    const repo = tmpRepo();
    for (const a of ['dev', 'lead']) orc(repo, ['a', 'register', a]);
    orc(repo, ['ws', 'create', 'W']);
    orc(repo, ['t', 'add', 'W', 'the task', '--id', 't1']);
    orc(repo, ['t', 'claim', 'W', 't1', 'dev']);
    expect(orc(repo, ['brief', 'W', 't1']).stdout).not.toContain('Unread messages');
    const m = orcJson<{ id: string }>(repo, ['msg', 'send', '@ws:W', 'use *the* new API', '--importance', 'high'], { env: { ORC_AGENT: 'lead' } });
    const md = orc(repo, ['brief', 'W', 't1']);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain('## Unread messages for dev (1)');
    expect(md.stdout).toContain(`- \`${m.id}\` from lead (high): use \\*the\\* new API`);
    const j = orcJson<any>(repo, ['brief', 'W', 't1']);
    expect(j.messages).toMatchObject({ agent: 'dev', unread: 1 });
  });
});
