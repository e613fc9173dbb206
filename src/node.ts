import { createRequire } from 'node:module';

/**
 * Node's built-in modules, loaded through require. Importing a built-in as
 * an ES module makes Node 20 build a facade of all its exports first, about
 * 1 ms each (fs also loads its streams): some 6 ms of a ~30 ms command. The
 * library's hot path takes its built-ins from here.
 */
const require = createRequire(import.meta.url);

export const fs: typeof import('node:fs') = require('node:fs');
export const path: typeof import('node:path') = require('node:path');
export const crypto: typeof import('node:crypto') = require('node:crypto');
export const zlib: typeof import('node:zlib') = require('node:zlib');
export const os: typeof import('node:os') = require('node:os');
export const buffer: typeof import('node:buffer') = require('node:buffer');

/** Loaded on first use: only sync with a remote runs git. */
export const childProcess = (): typeof import('node:child_process') => require('node:child_process');
