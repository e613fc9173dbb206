/**
 * Who may talk to the server: the Host header must name the listening
 * address (a DNS-rebinding page's requests name the attacker's host), a write
 * must come from no page or the server's own (Origin), and with a token set,
 * a write must carry it as a bearer header.
 */
import { crypto } from '../node.js';
import type { NextFunction, Request, Response } from 'express';

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);

const READ = new Set(['GET', 'HEAD', 'OPTIONS']);

/** host:port from a Host header, lowercased, brackets kept off IPv6. */
function splitHost(h: string): { host: string; port: string } | null {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h.trim().toLowerCase());
  if (!m) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ?? '80' };
}

export interface Guard {
  host: string;
  /** The bound port (known once listening). */
  port: () => number;
  token: string | null;
}

function hostAllowed(g: Guard, header: string | undefined): boolean {
  if (!header) return false;
  const h = splitHost(header);
  if (!h || h.port !== String(g.port())) return false;
  if (isLoopback(g.host)) return isLoopback(h.host);
  // Bound to every address: any IP literal or localhost names this machine; a DNS name does not.
  if (g.host === '0.0.0.0' || g.host === '::') return isLoopback(h.host) || /^[\d.]+$/.test(h.host) || h.host.includes(':');
  return h.host === g.host.toLowerCase();
}

function sameToken(given: string, want: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(want).digest();
  return crypto.timingSafeEqual(a, b);
}

export function guard(g: Guard) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hostAllowed(g, req.headers.host)) {
      res.status(403).json({ error: `Host ${JSON.stringify(req.headers.host ?? '')} is not this server's address; use http://${g.host.includes(':') ? `[${g.host}]` : g.host}:${g.port()}`, code: 'FORBIDDEN' });
      return;
    }
    if (READ.has(req.method)) return next();
    const origin = req.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== `http://${String(req.headers.host).toLowerCase()}`) {
      res.status(403).json({ error: `cross-site write refused: Origin ${JSON.stringify(origin)} is not this server`, code: 'FORBIDDEN' });
      return;
    }
    const site = req.headers['sec-fetch-site'];
    if (origin === undefined && site !== undefined && site !== 'same-origin' && site !== 'none') {
      res.status(403).json({ error: `cross-site write refused (Sec-Fetch-Site: ${site})`, code: 'FORBIDDEN' });
      return;
    }
    if (g.token !== null) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !sameToken(m[1]!.trim(), g.token)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'writes need the server token: Authorization: Bearer <token> (orc serve --token / ORC_TOKEN)', code: 'UNAUTHORIZED' });
        return;
      }
    }
    next();
  };
}
