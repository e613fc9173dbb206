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
});
