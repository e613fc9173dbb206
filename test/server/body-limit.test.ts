/**
 * Oversized request bodies are refused without being read: a declared
 * Content-Length past the limit is answered 413 at once, a chunked body as
 * soon as it passes the limit; the server stays healthy for the next request.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, orcJson, tmpRepo } from '../helpers.js';
import { req, serve, type Served } from './helpers.js';

let s: Served;
beforeAll(async () => {
  const repo = tmpRepo();
  orcJson(repo, ['ws', 'create', 'w']);
  s = await serve(repo);
});
afterAll(async () => {
  await s?.stop();
  cleanup();
});

const MiB = 1024 * 1024;

/**
 * Sends `head`, then body chunks from `next` (until it returns null) while
 * no answer has come; resolves with the answer's status line and how many
 * body bytes had been written when it came.
 */
function raw(head: string, next: () => Buffer | null): Promise<{ status: string; sentBeforeAnswer: number; finished: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(s.port, '127.0.0.1');
    let got = '';
    let sent = 0;
    let answered = -1;
    let finished = false;
    sock.on('error', () => {
      /* the server drops the connection after answering: expected */
    });
    sock.on('data', (d) => {
      if (answered < 0) answered = sent;
      got += d.toString('latin1');
    });
    sock.on('close', () => {
      if (!got) return reject(new Error(`no answer; ${sent} bytes sent`));
      resolve({ status: got.split('\r\n')[0]!, sentBeforeAnswer: answered, finished });
    });
    const pump = () => {
      while (answered < 0 && !sock.destroyed) {
        const c = next();
        if (c === null) {
          finished = true;
          return;
        }
        sent += c.length;
        if (!sock.write(c)) return void sock.once('drain', pump);
      }
    };
    sock.write(head, pump);
  });
}

describe('request body limit', () => {
  it('a declared 100 MiB body is answered 413 before it is sent', async () => {
    const total = 100 * MiB;
    let left = total;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const r = await raw(
      `POST /api/workstreams HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`,
      () => {
        if (left <= 0) return null;
        left -= chunk.length;
        return chunk;
      },
    );
    expect(r.status).toMatch(/^HTTP\/1\.1 413/);
    expect(r.finished).toBe(false);
    expect(r.sentBeforeAnswer).toBeLessThan(total);
  });

  it('an endless chunked body is answered 413 once it passes the limit, not read to its end', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'b');
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    let n = 0;
    const cap = 100 * MiB; // "endless", bounded for the test: the server must answer long before this
    const r = await raw(`POST /api/workstreams HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`, () => {
      if (n * framed.length >= cap) return null;
      n++;
      return framed;
    });
    expect(r.status).toMatch(/^HTTP\/1\.1 413/);
    expect(r.finished).toBe(false);
    expect(r.sentBeforeAnswer).toBeLessThan(cap);
  });

  it('the server stays healthy, and bodies within the limit still work', async () => {
    expect((await req('GET', `${s.base}/health`)).status).toBe(200);
    const ok = await req('POST', `${s.base}/workstreams`, { name: 'after', description: 'x'.repeat(1000) });
    expect(ok.status).toBe(201);
  });
});
