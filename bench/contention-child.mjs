// One of the racing processes: waits for the common start time, then runs
// `ops` ops through the library on one repo, alternating addTask and
// getNextTask, and prints its counters as one JSON line.
import { open } from '../dist/index.js';

const [repo, idx, opsArg, startAtArg, ws] = process.argv.slice(2);
const ops = Number(opsArg);
const startAt = Number(startAtArg);
const agent = `c${idx}`;
const orc = await open({ repo, agent });
const late = Date.now() - startAt;
if (late < 0) await new Promise((r) => setTimeout(r, -late));
const t0 = Date.now();
let added = 0;
let claimed = 0;
let nulls = 0;
const claimedIds = [];
for (let i = 0; i < ops; i++) {
  if (i % 2 === 0) {
    await orc.addTask(ws, `task ${i} of ${agent}`, 'contention benchmark', 1 + (i % 5));
    added++;
  } else {
    const t = await orc.getNextTask(ws, agent);
    if (t) {
      claimed++;
      claimedIds.push(t.id);
    } else nulls++;
  }
}
const t1 = Date.now();
process.stdout.write(`${JSON.stringify({ idx: Number(idx), late_ms: Math.max(0, late), start: t0, end: t1, added, claimed, nulls, claimedIds, stats: orc.stats })}\n`);
