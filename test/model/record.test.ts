/**
 * The op a commit records (model/record.ts): the lean v2 trailer carries
 * everything the v1 one orc writes did (agent and time come from the author
 * line), and both are read; malformed trailers are told apart from both.
 */
import { describe, expect, it } from 'vitest';
import { formatOpMessage, readRecordedOp } from '../../src/model/record.js';
import { trailers } from '../../src/store/commit.js';

const author = (name: string, at: Date) => ({ name, email: `${name}@orc.invalid`, time: Math.floor(at.getTime() / 1000), tz: '+0000' });

describe('recorded ops', () => {
  it('v2 carries op, agent, time to the millisecond and input, without repeating the author', () => {
    const at = new Date('2026-03-04T05:06:07.089Z');
    const input = { resource: 'src/a.ts', agent: 'agent-7', ttl_ms: 60000 };
    const message = formatOpMessage('acquire lock  src/a.ts\nfor agent-7', 'lock.acquire', 'agent-7', input, at, true);
    expect(message.split('\n')[0]).toBe('acquire lock src/a.ts for agent-7');
    expect(trailers(message, 'Orc-Agent')).toEqual([]);
    const raw = JSON.parse(trailers(message, 'Orc-Op')[0]!) as Record<string, unknown>;
    expect(raw).toEqual({ op: 'lock.acquire', ms: 89, input });
    expect(readRecordedOp({ message, author: author('agent-7', at) })).toEqual({ op: 'lock.acquire', agent: 'agent-7', at: at.toISOString(), input });
    // A whole second leaves "ms" out.
    const whole = new Date('2026-03-04T05:06:07.000Z');
    const m2 = formatOpMessage('x', 'kb.delete', 'a', { topic: 't' }, whole, true);
    expect(JSON.parse(trailers(m2, 'Orc-Op')[0]!)).toEqual({ op: 'kb.delete', input: { topic: 't' } });
    expect(readRecordedOp({ message: m2, author: author('a', whole) })).toMatchObject({ agent: 'a', at: whole.toISOString() });
    // The lean message is shorter than v1's by the repeated agent, time and Orc-Agent line.
    const v1 = formatOpMessage('x', 'kb.delete', 'a', { topic: 't' }, whole);
    expect(v1).toBe(`x\n\nOrc-Op: ${JSON.stringify({ op: 'kb.delete', agent: 'a', at: whole.toISOString(), input: { topic: 't' } })}\nOrc-Agent: a\n`);
    expect(v1.length - m2.length).toBeGreaterThan(50);
  });

  it('v1 (old branches) is read as recorded, whatever the author line says', () => {
    const message = `claim\n\nOrc-Op: {"op":"task.claim","agent":"agent-2","at":"2026-01-01T00:00:00.123Z","input":{"workstream":"W","id":"t1"}}\nOrc-Agent: agent-2\n`;
    expect(readRecordedOp({ message, author: author('agent-2', new Date('2026-01-01T00:00:00Z')) })).toEqual({
      op: 'task.claim',
      agent: 'agent-2',
      at: '2026-01-01T00:00:00.123Z',
      input: { workstream: 'W', id: 't1' },
    });
  });

  it('refuses what is neither format', () => {
    const a = author('x', new Date());
    const read = (value: string) => readRecordedOp({ message: `s\n\nOrc-Op: ${value}\n`, author: a });
    expect(readRecordedOp({ message: 'by hand\n', author: a })).toMatch(/has no Orc-Op trailer/);
    expect(read('{not json')).toMatch(/not \{"op","input"\} JSON/);
    expect(read('{"op":"kb.delete"}')).toMatch(/not \{"op","input"\} JSON/);
    expect(read('{"op":"kb.delete","input":[1]}')).toMatch(/not \{"op","input"\} JSON/);
    expect(read('{"op":"kb.delete","agent":"x","input":{}}')).toMatch(/not \{"op","agent","at","input"\} JSON/);
    expect(read('{"op":"kb.delete","at":"2026-01-01T00:00:00Z","input":{}}')).toMatch(/not \{"op","agent","at","input"\} JSON/);
    expect(read('{"op":"kb.delete","agent":"x","at":"2026-01-01T00:00:00Z","ms":5,"input":{}}')).toMatch(/not \{"op","agent","at","input"\} JSON/);
    for (const ms of ['1000', '-1', '1.5', '"5"']) expect(read(`{"op":"kb.delete","ms":${ms},"input":{}}`)).toMatch(/"ms" is not a whole number/);
  });
});
