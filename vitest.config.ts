import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most tests wait on git and orc child processes, not the CPU: two files at a time on the
    // 2-core machines here (the default, one fewer than the cores, runs them one by one).
    maxWorkers: 2,
  },
});
