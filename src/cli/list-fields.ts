/**
 * `--json FIELDS` on list commands, the way gh does it: `orc t list w --json
 * id,title,status` prints each item with only those fields, in that order.
 * A bare `--json` prints everything, as before. An unknown field is a usage
 * error naming the fields there are.
 */
import type { Command } from 'commander';

/** The list commands (by their path under orc) whose `--json` takes an optional field list. */
export const LIST_COMMANDS = new Set(['t list', 'ws list', 'a list', 'lock list', 'kb list', 'events', 'ready', 'log']);

let selected: string[] | null = null;

export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Called before a list command's action with its `--json` value: `true`, or a comma-separated list of fields. */
export function selectFields(value: unknown): void {
  selected = null;
  if (typeof value !== 'string') return;
  const fields = value.split(',').map((f) => f.trim()).filter(Boolean);
  if (!fields.length) return;
  for (const f of fields) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f)) throw Object.assign(new Error(`--json takes field names like id,title,status; got ${JSON.stringify(f.slice(0, 40))}`), { orcUsage: true });
  }
  selected = fields;
}

/**
 * The list with only the selected fields (unchanged when none are selected).
 * Items that are plain strings (kb list) are named by `as`.
 */
export function project(v: unknown, as = 'topic'): unknown {
  if (!selected || !Array.isArray(v)) return v;
  const items = v.map((x) => (typeof x === 'string' ? { [as]: x } : x)) as Record<string, unknown>[];
  const known = new Set(items.flatMap((x) => (x && typeof x === 'object' ? Object.keys(x) : [])));
  const unknown = items.length ? selected.filter((f) => !known.has(f)) : [];
  if (unknown.length) {
    throw Object.assign(new Error(`unknown JSON field ${unknown.map((f) => `"${f}"`).join(', ')}; available: ${[...known].sort().join(', ')}`), { orcUsage: true });
  }
  const fields = selected;
  return items.map((x) => Object.fromEntries(fields.map((f) => [f, x[f] ?? null])));
}
