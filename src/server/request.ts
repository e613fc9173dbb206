/** Reading a request's JSON body and query parameters, for every route. */
import type { Request } from 'express';
import { invalid } from '../errors.js';

export type Body = Record<string, unknown>;

/** The JSON object sent, or {} when nothing was (no body, or one that was not JSON and so was not parsed). */
export function body(req: Request): Body {
  const b: unknown = req.body;
  if (b === undefined || b === null || Buffer.isBuffer(b) || typeof b === 'string') return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalid('the request body must be a JSON object');
  return b as Body;
}

/** A query parameter given at most once, as text. */
export function query(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`query parameter "${name}" must be given once, as text`);
  return v;
}

/** An optional string field of the body. */
export const str = (b: Body, k: string): string | undefined => {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`"${k}" must be a string`);
  return v;
};
