/**
 * A WAN, simulated: a TCP proxy on loopback (bench/delay-proxy.mjs) in front
 * of a real `git daemon` delays every chunk 25 ms each way, and the hosts'
 * remote is git://127.0.0.1:PROXY/remote.git. The multi-host race (tasks and
 * one lock) holds through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanup } from '../helpers.js';
import { GitDaemon, bareRemote, seedRemote } from '../sync/daemon.js';
import { raceHosts } from './race.js';

/**
 * The proxy runs in a process of its own: the fixtures run git and orc synchronously
 * (spawnSync), which would stall a proxy living on this process's event loop.
 * It prints its port, and on each line read from stdin the number of connections so far.
 */
class DelayProxy {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly lines: AsyncIterator<string>,
  ) {}

  static async start(targetPort: number, delayMs: number): Promise<DelayProxy> {
    const src = [
      `const { startDelayProxy } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'bench', 'delay-proxy.mjs')).href)});`,
      `const p = await startDelayProxy({ targetPort: ${targetPort}, delayMs: ${delayMs} });`,
      "process.stdout.write(p.port + '\\n');",
      "process.stdin.on('data', () => process.stdout.write(p.connections() + '\\n'));",
      "process.stdin.on('end', () => p.close().then(() => process.exit(0)));",
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error('the delay proxy exited before printing its port');
    return new DelayProxy(child, Number(first.value), lines);
  }

  async connections(): Promise<number> {
    this.child.stdin!.write('?\n');
    const r = await this.lines.next();
    return Number(r.value);
  }

  async close(): Promise<void> {
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    await gone;
  }
}

describe('through a 25 ms delay proxy in front of git daemon', () => {
  let remote: ReturnType<typeof bareRemote>;
  let daemon: GitDaemon;
  let proxy: DelayProxy;
  beforeAll(async () => {
    remote = bareRemote();
    daemon = await GitDaemon.start(remote.base);
    proxy = await DelayProxy.start(daemon.port, 25);
  });
  afterAll(async () => {
    await proxy?.close();
    await daemon?.stop();
    cleanup();
  });

  it('4 hosts race for 8 tasks and one lock: no task claimed twice, one lock holder at a time, every success on the remote', async () => {
    const url = `git://127.0.0.1:${proxy.port}/remote.git`;
    await seedRemote(url, 8);
    const before = await proxy.connections();
    await raceHosts({ bare: remote.bare, url, env: {} }, { hosts: 4, tasks: 8, rounds: 1 });
    // Every fetch and push of the race went through the proxy.
    expect((await proxy.connections()) - before).toBeGreaterThan(2 * 8);
  }, 180_000);
});
