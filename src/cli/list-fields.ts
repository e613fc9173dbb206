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
/** The fields an item of the running list command can have, whether or not this list's items have them. */
let schema: readonly string[] | null = null;
/** Whether any field name is taken (events carry fields of their own). */
let freeForm = false;

const TASK = ['id', 'workstream', 'title', 'description', 'status', 'priority', 'estimate', 'assigned_to', 'created_at', 'updated_at', 'result', 'created_by', 'claimed_at', 'lease_ms', 'lease_expires_at', 'completed_at', 'resources', 'after', 'kb', 'archived'];

/**
 * Each list command's item fields (model/types.ts): a field an item lacks is
 * null, so a script's field list does not fail on data that happens not to
 * have it yet. null: free-form (events carry fields of their own), any name is taken.
 */
const FIELDS: Record<string, readonly string[] | null> = {
  't list': TASK,
  ready: TASK,
  'ws list': ['name', 'description', 'priority', 'status', 'created_at', 'updated_at', 'task_counts', 'task_count', 'pending', 'in_progress', 'done', 'archived', 'tasks'],
  'a list': ['id', 'type', 'capabilities', 'status', 'registered_at', 'last_heartbeat', 'last_seen', 'stale', 'lost'],
  'lock list': ['resource', 'agent', 'acquired_at', 'ttl_ms', 'expires_at', 'token', 'task'],
  'kb list': ['topic'],
  log: ['commit', 'parents', 'author', 'time', 'summary', 'op'],
  events: null,
};

export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Called before a list command's action with its `--json` value: `true`, or a
 * comma-separated list of fields. An empty list (`--json ""`, `--json=`, what
 * `--json "$FIELDS"` gives with FIELDS unset) means every field, as a bare `--json`.
 */
export function selectFields(value: unknown, command = ''): void {
  selected = null;
  schema = FIELDS[command] ?? null;
  freeForm = command in FIELDS && FIELDS[command] === null;
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
  const known = new Set([...(schema ?? []), ...items.flatMap((x) => (x && typeof x === 'object' ? Object.keys(x) : []))]);
  // Known fields are checked even on an empty list; fields learnt from items only when there are some.
  const unknown = !freeForm && (schema !== null || items.length) ? selected.filter((f) => !known.has(f)) : [];
  if (unknown.length) {
    throw Object.assign(new Error(`unknown JSON field ${unknown.map((f) => `"${f}"`).join(', ')}; available: ${[...known].sort().join(', ')}`), { orcUsage: true });
  }
  const fields = selected;
  return items.map((x) => Object.fromEntries(fields.map((f) => [f, x[f] ?? null])));
}
