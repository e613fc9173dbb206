#!/usr/bin/env node
/**
 * The `orc` executable. It runs the bundled command line (dist/bin/core.cjs)
 * compiled with V8's cached data from an earlier run, which skips most of
 * the parsing and compiling a command would otherwise spend ~12 ms on. A
 * missing or stale cache (another Node, a new build) only costs that time
 * once: the cache is written again on exit, atomically, where the install is
 * writable.
 */
import fs = require('node:fs');
import path = require('node:path');
import vm = require('node:vm');
import Module = require('node:module');

const core = path.join(__dirname, '..', 'bin', 'core.cjs');
const cacheFile = `${core}.v8cache`;
let cached: Buffer | undefined;
try {
  cached = fs.readFileSync(cacheFile);
} catch {
  cached = undefined;
}
const source = fs.readFileSync(core, 'utf8').replace(/^#!.*\n/, '');
// Dynamic import() inside the bundle resolves as it would in a plain module.
const importModuleDynamically = (vm.constants as unknown as { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
const script = new vm.Script(Module.wrap(source), {
  filename: core,
  cachedData: cached,
  ...(importModuleDynamically ? { importModuleDynamically: importModuleDynamically as never } : {}),
});
if (!cached || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      /* a read-only install runs without the cache */
    }
  });
}
// A real module in require's cache: the runner's and hooks' chunks require core.cjs and must get this
// same instance (one OrcError class, one program), not a second copy that would run the command again.
const mod = new Module(core, module);
mod.filename = core;
mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(core));
require.cache[core] = mod;
const requireFromCore = Module.createRequire(core);
(script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, requireFromCore, mod, core, path.dirname(core));
mod.loaded = true;
