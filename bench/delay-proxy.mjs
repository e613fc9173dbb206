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
  // Half-open sockets: a side that finished sending (git's client after its request, the server after
  // its answer) must not cut the other direction, and a socket is closed only once both directions
  // delivered every delayed chunk; destroying one earlier drops what is still queued.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    seen++;
    const upstream = net.connect({ host, port: o.targetPort, allowHalfOpen: true });
    open.add(client);
    open.add(upstream);
    let finished = 0;
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    const forward = (from, to) => {
      // A chain of timers in arrival order: later chunks never overtake earlier ones.
      let last = Promise.resolve();
      const later = (fn) => {
        const due = Date.now() + o.delayMs;
        last = last.then(
          () =>
            new Promise((resolve) => {
              setTimeout(() => {
                fn();
                resolve();
              }, Math.max(0, due - Date.now()));
            }),
        );
      };
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        later(() => {
          if (!to.destroyed) to.end();
          if (++finished === 2) drop();
        });
      };
      from.on('data', (chunk) => later(() => !to.destroyed && to.write(chunk)));
      from.on('end', end);
      // Closed without an end (reset): what arrived is still delivered, then the other side ends too.
      from.on('close', end);
    };
    forward(client, upstream);
    forward(upstream, client);
    client.on('error', drop);
    upstream.on('error', drop);
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
