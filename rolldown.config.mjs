// Bundles the command line into a few files at build time: Node 20 pays for
// every ES module it resolves, and one bundle starts ~7 ms faster than the
// ~20 modules tsc emits (see README, "Dependencies"). The library keeps tsc's output.
import { chmodSync } from 'node:fs';
import { defineConfig } from 'rolldown';

export default defineConfig({
  input: { orc: 'dist/cli/main.js' },
  platform: 'node',
  external: [/^node:/],
  output: {
    dir: 'dist/bin',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    cleanDir: true,
    // Everything a plain command needs in one file beside the entry; the runner and hooks stay apart.
    codeSplitting: {
      groups: [{ name: 'core', test: /dist[\\/](cli|ops|model|store|errors|node)[\\/.]/ }],
    },
  },
  plugins: [
    {
      // The bin must be executable straight from a build, so `git orc` finds it through a symlink on PATH.
      name: 'executable-bin',
      writeBundle() {
        chmodSync('dist/bin/orc.js', 0o755);
      },
    },
  ],
  logLevel: 'warn',
});
