/**
 * The give-way rule (ops/sync.ts giveWayMs): a host that just won a push holds
 * its next one back, and only while a loser could still be learning it lost
 * and fetching. test/sync/fairness.test.ts shows what it is for (with the
 * rule taken out, one of 4 racing hosts took all 40 tasks in each of 4 runs);
 * this file pins down when it applies and when it does not.
 */
import { describe, expect, it } from 'vitest';
import { giveWayMs } from '../../src/ops/sync.js';

describe('giveWayMs', () => {
  const win = 1_000_000;
  const push = 80;
  const fetch = 60;

  it('right after a win: half to twice a push, placed by the random draw', () => {
    expect(giveWayMs(win, push, fetch, win + 5, 0)).toBe(0.5 * push);
    expect(giveWayMs(win, push, fetch, win + 5, 1)).toBe(2 * push);
    expect(giveWayMs(win, push, fetch, win + 5, 0.5)).toBe(1.25 * push);
    // Still inside the time in which a loser learns it lost (at most a push) and fetches.
    expect(giveWayMs(win, push, fetch, win + fetch + push - 1, 0)).toBe(0.5 * push);
  });

  it('an op that comes later than a loser would need (one agent alone, the next CLI process) does not wait', () => {
    expect(giveWayMs(win, push, fetch, win + fetch + push, 1)).toBe(0);
    expect(giveWayMs(win, push, fetch, win + 400, 0.7)).toBe(0);
    // A host that never won does not wait either.
    expect(giveWayMs(0, push, fetch, win, 0.3)).toBe(0);
  });

  it('a host that lost a push lately is racing: it also waits the fetch a loser needs, and a second after its win still counts as a moment', () => {
    const lost = win - 2000;
    expect(giveWayMs(win, push, fetch, win + 5, 0, lost)).toBe(fetch + 0.5 * push);
    expect(giveWayMs(win, push, fetch, win + 400, 0, lost)).toBe(fetch + 0.5 * push);
    expect(giveWayMs(win, push, fetch, win + 999, 1, lost)).toBe(fetch + 2 * push);
    expect(giveWayMs(win, push, fetch, win + 1000, 1, lost)).toBe(0);
    // A loss long ago is not a race now.
    expect(giveWayMs(win, push, fetch, win + 400, 0, win - 10_000)).toBe(0);
  });
});
