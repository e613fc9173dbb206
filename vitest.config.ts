import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most tests wait on git and orc child processes, or on leases and timers, not only the CPU:
    // three files at a time on the 2-core machines here (the default, one fewer than the cores,
    // runs them one by one). Measured there: 806 s with two (1.67 cores busy on average), 692 s with three.
    maxWorkers: 3,
  },
});
