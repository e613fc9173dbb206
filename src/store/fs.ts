import { createRequire } from 'node:module';

/**
 * node:fs, loaded through require: importing it as an ES module makes Node 20
 * build a facade of every export, which loads the fs streams (~2 ms of a
 * ~30 ms command). The store only uses the synchronous calls.
 */
export const fs: typeof import('node:fs') = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
