/**
 * The give-way rule (ops/sync.ts giveWayMs): a host that just won a push holds
 * its next one back for the time a loser needs to fetch and push again, and
 * only then. test/sync/fairness.test.ts shows what it is for (with the rule
 * taken out, one of 4 racing hosts took all 40 tasks in each of 4 runs); this
 * file pins down when it applies and when it does not.
 */
import { describe, expect, it } from 'vitest';
import { giveWayMs } from '../../src/ops/sync.js';

describe('giveWayMs', () => {
  const win = 1_000_000;
  const push = 80;
  const fetch = 60;

  it('right after a win: a fetch plus half to twice a push, placed by the random draw', () => {
    expect(giveWayMs(win, push, fetch, win, 0)).toBe(fetch + 0.5 * push);
    expect(giveWayMs(win, push, fetch, win, 1)).toBe(fetch + 2 * push);
    expect(giveWayMs(win, push, fetch, win, 0.5)).toBe(fetch + 1.25 * push);
  });

  it('measured from the win: time already spent since it counts', () => {
    expect(giveWayMs(win, push, fetch, win + 30, 0)).toBe(fetch + 0.5 * push - 30);
  });

  it('an op that comes later than a loser would need (one agent alone, the next CLI process) does not wait', () => {
    expect(giveWayMs(win, push, fetch, win + fetch + 2 * push, 1)).toBe(0);
    expect(giveWayMs(win, push, fetch, win + 400, 0.7)).toBe(0);
    // A host that never won does not wait either.
    expect(giveWayMs(0, push, fetch, win, 0.3)).toBe(0);
  });
});
