import * as fs from 'node:fs';
import Handlebars from 'handlebars';
import { OrcError, invalid } from '../errors.js';
import type { StateReader } from '../model/state.js';
import { unportableComponent } from '../model/validate.js';
import { shellQuote } from './shell.js';
import { relativeTime } from '../ops/status-text.js';

/**
 * Templates: orc's defaults in templates/ (shipped with the package), each
 * overridable by a team with `templates/<name>.hbs` on the state branch, so
 * every host renders the same. Names are `plan.md`, `brief.md`,
 * `collect.md` and `partials/<name>` (used as `{{> name}}`).
 */

/** A template's text and where it came from: the state branch (a team's override) or orc's defaults. */
export interface TemplateSource {
  /** The file name under templates/, e.g. `plan.md.hbs` or `partials/task-line.hbs`. */
  name: string;
  text: string;
  /** 'input': a text being written (templates write/edit), not on the branch yet. */
  from: 'branch' | 'default' | 'input';
}

export interface TemplateInfo {
  /** The template's name, e.g. `plan.md` or `partials/task-line`. */
  name: string;
  from: 'branch' | 'default';
  /** Whether orc ships a default of that name (false for a partial only the branch has). */
  has_default: boolean;
  bytes: number;
}

const DEFAULTS = new URL('../../templates/', import.meta.url);
const defaults = new Map<string, string | null>();
const PARTIALS = 'partials/';
const NAME = /^(?:partials\/)?[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;
const MAX_TEMPLATE = 100_000;

function defaultText(file: string): string | null {
  let t = defaults.get(file);
  if (t === undefined) {
    try {
      t = fs.readFileSync(new URL(file, DEFAULTS), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      t = null;
    }
    defaults.set(file, t);
  }
  return t;
}

/** The names of orc's default templates, top level first. */
export function defaultTemplateNames(): string[] {
  const list = (sub: string) => {
    try {
      return fs
        .readdirSync(new URL(sub, DEFAULTS))
        .filter((f) => f.endsWith('.hbs'))
        .map((f) => `${sub}${f.slice(0, -4)}`)
        .sort();
    } catch {
      return [];
    }
  };
  return [...list(''), ...list(PARTIALS)];
}

/**
 * A template name as users may type it (`plan`, `plan.md`, `plan.md.hbs`,
 * `templates/partials/task-line.hbs`) made canonical (`plan.md`,
 * `partials/task-line`). A top-level name must be one of the defaults (an
 * override of anything else would never be used); partials may be new.
 */
export function templateName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid('template name is missing; see `orc templates list`');
  let n = raw.replace(/^templates\//, '').replace(/\.hbs$/, '');
  const known = defaultTemplateNames();
  if (!n.startsWith(PARTIALS) && !n.includes('.') && known.includes(`${n}.md`)) n = `${n}.md`;
  if (n.length > 100 || !NAME.test(n)) {
    throw invalid(`template name ${JSON.stringify(raw)} is not valid; use one of ${known.filter((k) => !k.startsWith(PARTIALS)).join(', ')} or partials/NAME`, { name: raw });
  }
  for (const seg of n.split('/')) {
    const why = unportableComponent(seg);
    if (why) throw invalid(`template name ${JSON.stringify(raw)} is not allowed: ${why}`, { name: raw });
  }
  if (!n.startsWith(PARTIALS) && !known.includes(n)) {
    throw invalid(`there is no template "${n}"; the templates are ${known.filter((k) => !k.startsWith(PARTIALS)).join(', ')}, plus partials/NAME`, { name: n });
  }
  return n;
}

export const templatePath = (name: string): string => `templates/${name}.hbs`;

/** `templates/<name>.hbs` from the state branch if a team committed one, else the default (null if neither). */
export function findTemplate(s: StateReader, name: string): (TemplateSource & { from: 'branch' | 'default' }) | null {
  const file = `${name}.hbs`;
  const override = s.read(`templates/${file}`);
  if (override) return { name: file, text: override.toString('utf8'), from: 'branch' };
  const text = defaultText(file);
  return text === null ? null : { name: file, text, from: 'default' };
}

export function loadTemplate(s: StateReader, name: string): TemplateSource {
  const t = findTemplate(s, name);
  if (!t) throw new OrcError('NOT_FOUND', `no template "${name}"; see \`orc templates list\``, { name });
  return t;
}

/** Every template: the defaults, with the branch's overrides and extra partials in their place. */
export function listTemplates(s: StateReader): TemplateInfo[] {
  const names = new Set(defaultTemplateNames());
  const branch = (sub: string) =>
    s
      .list(`templates${sub ? `/${sub.slice(0, -1)}` : ''}`)
      .filter((e) => !e.dir && e.name.endsWith('.hbs'))
      .map((e) => `${sub}${e.name.slice(0, -4)}`);
  for (const n of [...branch(''), ...branch(PARTIALS)]) names.add(n);
  const top = [...names].filter((n) => !n.startsWith(PARTIALS)).sort();
  const partials = [...names].filter((n) => n.startsWith(PARTIALS)).sort();
  return [...top, ...partials].map((name) => {
    const t = findTemplate(s, name)!;
    return { name, from: t.from, has_default: defaultText(`${name}.hbs`) !== null, bytes: Buffer.byteLength(t.text) };
  });
}

/** The partials a render may use: `partials/*.hbs` of the defaults and of the branch, by their short name. */
export function loadPartials(s: StateReader): Map<string, TemplateSource> {
  const out = new Map<string, TemplateSource>();
  for (const n of defaultTemplateNames()) if (n.startsWith(PARTIALS)) out.set(n.slice(PARTIALS.length), findTemplate(s, n)!);
  for (const e of s.list('templates/partials')) {
    if (e.dir || !e.name.endsWith('.hbs')) continue;
    const short = e.name.slice(0, -4);
    if (!out.has(short) || out.get(short)!.from === 'default') out.set(short, findTemplate(s, `${PARTIALS}${short}`)!);
  }
  return out;
}

// ---------------------------------------------------------------- helpers

/** Characters that change the meaning of markdown, escaped so a user's text shows as text (on one line). */
export function markdownEscape(v: unknown): string {
  return String(v ?? '')
    .replace(/[\\`*_{}[\]<>()#+!|]/g, '\\$&')
    .replace(/\r?\n/g, ' ');
}

/** Inline code that survives backticks in the text: a fence longer than any run inside. */
export function inlineCode(v: unknown): string {
  const s = String(v ?? '').replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** Text as a markdown block quote: its own markdown still renders, but it cannot end the quote or the list around it. */
export function blockQuote(v: unknown, indent = ''): string {
  const s = String(v ?? '').replace(/\r\n/g, '\n').replace(/\n+$/, '');
  return s
    .split('\n')
    .map((l) => `${indent}${l ? `> ${l}` : '>'}`)
    .join('\n');
}

export function plural(n: number, one: string, many?: string): string {
  return `${n} ${n === 1 ? one : many ?? `${one}s`}`;
}

/** `5m ago`, `in 2h`: `iso` relative to `nowIso` (the status view's wording). */
export function relative(iso: string, nowIso: string): string {
  return relativeTime(iso, new Date(nowIso));
}

/** Output is markdown, so nothing is HTML-escaped; times are relative to the data's own `generated_at`, never the wall clock. */
const hb = Handlebars.create();
// A template's {{log}} goes to stderr, never stdout: stdout may be one --json value.
const hbLogger = hb.logger as unknown as { level: unknown; lookupLevel(l: unknown): number };
hb.log = (level: unknown, ...message: unknown[]) => {
  if (hbLogger.lookupLevel(level) >= hbLogger.lookupLevel(hbLogger.level)) process.stderr.write(`orc template log: ${message.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}\n`);
};
const rootTime = (options: Handlebars.HelperOptions): string | undefined => (options.data as { root?: { generated_at?: string } } | undefined)?.root?.generated_at;
hb.registerHelper('md', (v: unknown) => markdownEscape(v));
hb.registerHelper('code', (v: unknown) => inlineCode(v));
hb.registerHelper('shq', (v: unknown) => shellQuote(v));
// {{cmd "orc kb read" topic}}: a command for pasting, as inline code: each value shell-quoted, the fence longer than any backtick run.
hb.registerHelper('cmd', (...args: unknown[]) => {
  const [head, ...values] = args.slice(0, -1);
  return inlineCode([String(head ?? ''), ...values.map(shellQuote)].join(' '));
});
hb.registerHelper('quote', (v: unknown, indent: unknown) => blockQuote(v, typeof indent === 'string' ? indent : ''));
hb.registerHelper('date', (v: unknown) => (typeof v === 'string' && v.length >= 16 ? `${v.slice(0, 10)} ${v.slice(11, 16)} UTC` : String(v ?? '')));
hb.registerHelper('ago', (v: unknown, options: Handlebars.HelperOptions) => {
  const now = rootTime(options);
  return now ? relative(String(v), now) : String(v ?? '');
});
hb.registerHelper('plural', (n: unknown, one: unknown, many: unknown) => plural(Number(n), String(one), typeof many === 'string' ? many : undefined));
hb.registerHelper('join', (list: unknown, sep: unknown) => (Array.isArray(list) ? list.map(String).join(typeof sep === 'string' ? sep : ', ') : ''));
hb.registerHelper('truncate', (v: unknown, n: unknown) => {
  const s = String(v ?? '');
  const max = Number(n);
  return Number.isFinite(max) && s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s;
});
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('inc', (n: unknown) => Number(n) + 1);

// ---------------------------------------------------------------- rendering

type Node = { type?: string; loc?: { start: { line: number } }; path?: { original?: unknown }; name?: { original?: unknown }; [k: string]: unknown };

/** The line of the first use of `name` (a helper, block or partial) in a template, to point at a runtime error. */
function lineOfName(text: string, name: string): number | null {
  let ast: Node;
  try {
    ast = hb.parse(text) as unknown as Node;
  } catch {
    return null;
  }
  let found: number | null = null;
  const walk = (n: unknown): void => {
    if (found !== null || !n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    const node = n as Node;
    const named = node.type === 'PartialStatement' || node.type === 'PartialBlockStatement' ? node.name?.original : node.path?.original;
    if (named === name && node.loc && typeof node.type === 'string' && /Statement|SubExpression/.test(node.type)) {
      found = node.loc.start.line;
      return;
    }
    for (const [k, v] of Object.entries(node)) if (k !== 'loc' && k !== 'strip') walk(v);
  };
  walk(ast);
  return found;
}

/** Marks errors thrown inside a template, so an error in a partial names the partial, not its caller. */
const SOURCE = Symbol('orc template');

function templateError(src: TemplateSource, e: unknown): OrcError {
  if (e instanceof OrcError) return e;
  const own = (e as { [SOURCE]?: TemplateSource })[SOURCE] ?? src;
  const msg = (e as Error)?.message ?? String(e);
  const first = msg.split('\n')[0] ?? msg;
  let line: number | null = null;
  const parsed = /on line (\d+)/i.exec(msg)?.[1];
  if (parsed) line = Number(parsed);
  else if (typeof (e as { lineNumber?: unknown }).lineNumber === 'number') line = (e as { lineNumber: number }).lineNumber;
  else {
    const name = /Missing helper: "([^"]+)"/.exec(first)?.[1] ?? /The partial (\S+) could not be found/.exec(first)?.[1] ?? /^#?(\w+) requires/.exec(first)?.[1];
    if (name) line = lineOfName(own.text, name);
  }
  const where = own.from === 'branch' ? `templates/${own.name} on the state branch` : own.from === 'input' ? `template ${own.name} as given (nothing committed)` : `default template ${own.name}`;
  const fix = own.from === 'input' ? 'fix it and write it again' : `fix it (orc templates edit ${own.name.replace(/\.hbs$/, '')}, or git) and run again`;
  // A parse error's last line says what was expected ("Expecting 'CLOSE', got 'INVALID'"): worth keeping, shortened.
  const expecting = msg.split('\n').find((l) => l.startsWith('Expecting'));
  const short = expecting && expecting.length > 120 ? `${expecting.slice(0, 117)}…` : expecting;
  const detail = `${first.replace(/:\s*$/, '')}${short ? ` (${short})` : ''}`;
  return new OrcError(
    'TEMPLATE',
    `${where}${line ? `, line ${line}` : ''}: ${detail}; ${fix}`,
    { template: own.name, from: own.from, line },
  );
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();

function compile(src: TemplateSource): Handlebars.TemplateDelegate {
  let fn = compiled.get(src.text);
  if (fn) return fn;
  try {
    hb.parse(src.text);
    fn = hb.compile(src.text, { noEscape: true, strict: false });
  } catch (e) {
    throw templateError(src, e);
  }
  if (compiled.size > 200) compiled.clear();
  compiled.set(src.text, fn);
  return fn;
}

/** Throws TEMPLATE (with the line) unless `text` parses as a template. */
export function checkTemplate(name: string, text: string, from: TemplateSource['from'] = 'branch'): void {
  if (text.length > MAX_TEMPLATE) throw invalid(`template ${name} is ${text.length} characters long; the limit is ${MAX_TEMPLATE}`);
  compile({ name: `${name}.hbs`, text, from });
}

/**
 * Renders a template with the given partials; a parse or render failure is a
 * TEMPLATE error naming the template (or partial) and the line.
 */
export function render(src: TemplateSource, data: unknown, partials: Map<string, TemplateSource> = new Map()): string {
  const fn = compile(src);
  const parts: Record<string, Handlebars.TemplateDelegate> = {};
  for (const [short, p] of partials) {
    const pf = compile(p);
    parts[short] = (ctx: unknown, opts?: Handlebars.RuntimeOptions) => {
      try {
        return pf(ctx, opts);
      } catch (e) {
        if (e && typeof e === 'object' && !(SOURCE in e)) Object.assign(e, { [SOURCE]: p });
        throw e;
      }
    };
  }
  try {
    return fn(data, { partials: parts, allowProtoPropertiesByDefault: false });
  } catch (e) {
    throw templateError(src, e);
  }
}

/** A renderer bound to one state: templates and partials are read from it once. */
export function renderer(s: StateReader): (name: string, data: unknown) => string {
  const partials = loadPartials(s);
  const cache = new Map<string, TemplateSource>();
  return (name, data) => {
    let src = cache.get(name);
    if (!src) cache.set(name, (src = loadTemplate(s, name)));
    return render(src, data, partials);
  };
}
