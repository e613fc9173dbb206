// One fresh process: loads the library, opens the repo and times status()
// three times on the same Orc object (the first is cold: nothing cached).
// Prints one JSON line.
const t0 = performance.now();
const { open } = await import('../dist/index.js');
const t1 = performance.now();
const repo = process.argv[2];
const orc = await open({ repo });
const t2 = performance.now();
const s1 = await orc.status();
const t3 = performance.now();
const s2 = await orc.status();
const t4 = performance.now();
await orc.status();
const t5 = performance.now();
if (s1.summary.tasks.total !== s2.summary.tasks.total) throw new Error('status changed between calls');
process.stdout.write(
  `${JSON.stringify({
    import_ms: t1 - t0,
    open_ms: t2 - t1,
    cold_ms: t3 - t1, // open() + first status()
    cold_status_ms: t3 - t2,
    warm_ms: t4 - t3,
    warm2_ms: t5 - t4,
    tasks: s1.summary.tasks.total,
    max_rss_kib: process.resourceUsage().maxRSS,
  })}\n`,
);
