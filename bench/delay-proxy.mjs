// A TCP proxy on loopback that adds a fixed delay each way: a WAN, simulated,
// in front of a git server (git daemon, apache, sshd). Used by the tests and
// by `npm run bench`. Bytes keep their order; each chunk is delivered `delayMs`
// after it arrived, so a round trip costs 2 x delayMs more than without it.
import * as net from 'node:net';

/**
 * @param {{ targetPort: number, targetHost?: string, delayMs: number }} o
 * @returns {Promise<{ port: number, connections: () => number, close: () => Promise<void> }>}
 */
export async function startDelayProxy(o) {
  const host = o.targetHost ?? '127.0.0.1';
  const open = new Set();
  let seen = 0;
  const server = net.createServer((client) => {
    seen++;
    const upstream = net.connect({ host, port: o.targetPort });
    open.add(client);
    open.add(upstream);
    const forward = (from, to) => {
      // A chain of timers in arrival order: later chunks never overtake earlier ones.
      let last = Promise.resolve();
      from.on('data', (chunk) => {
        const due = Date.now() + o.delayMs;
        last = last.then(
          () =>
            new Promise((resolve) => {
              setTimeout(() => {
                if (!to.destroyed) to.write(chunk);
                resolve();
              }, Math.max(0, due - Date.now()));
            }),
        );
      });
      from.on('end', () => {
        last = last.then(() => new Promise((resolve) => setTimeout(() => (to.end(), resolve()), o.delayMs)));
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => setTimeout(drop, o.delayMs + 5));
    upstream.on('close', () => setTimeout(drop, o.delayMs + 5));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = /** @type {net.AddressInfo} */ (server.address()).port;
  return {
    port,
    connections: () => seen,
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
