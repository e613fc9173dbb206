import * as fs from 'node:fs';
import Handlebars from 'handlebars';
import { OrcError } from '../errors.js';
import type { StateReader } from '../model/state.js';

/** A template's text and where it came from: the state branch (a team's override) or orc's defaults. */
export interface TemplateSource {
  name: string;
  text: string;
  from: 'branch' | 'default';
}

const DEFAULTS = new URL('../../templates/', import.meta.url);
const defaults = new Map<string, string>();

function defaultText(file: string): string {
  let t = defaults.get(file);
  if (t === undefined) {
    t = fs.readFileSync(new URL(file, DEFAULTS), 'utf8');
    defaults.set(file, t);
  }
  return t;
}

/** `templates/<name>.hbs` from the state branch if a team committed one, else the default. */
export function loadTemplate(s: StateReader, name: string): TemplateSource {
  const file = `${name}.hbs`;
  const override = s.read(`templates/${file}`);
  if (override) return { name: file, text: override.toString('utf8'), from: 'branch' };
  return { name: file, text: defaultText(file), from: 'default' };
}

/** Characters that change the meaning of markdown, escaped so a user's text shows as text. */
export function markdownEscape(v: unknown): string {
  return String(v ?? '')
    .replace(/[\\`*_{}[\]<>()#+!|]/g, '\\$&')
    .replace(/\r?\n/g, ' ');
}

function plural(n: number, one: string, many?: string): string {
  return `${n} ${n === 1 ? one : many ?? `${one}s`}`;
}

function relative(iso: string, nowIso: string): string {
  const ms = Date.parse(iso) - Date.parse(nowIso);
  if (!Number.isFinite(ms)) return String(iso);
  const abs = Math.abs(ms);
  const unit = abs < 60_000 ? `${Math.round(abs / 1000)}s` : abs < 3600_000 ? `${Math.round(abs / 60_000)}m` : abs < 86_400_000 ? `${Math.round(abs / 3600_000)}h` : `${Math.round(abs / 86_400_000)}d`;
  return ms < 0 ? `${unit} ago` : `in ${unit}`;
}

/** One Handlebars environment with orc's helpers; output is markdown, so nothing is HTML-escaped. */
const hb = Handlebars.create();
hb.registerHelper('md', (v: unknown) => markdownEscape(v));
hb.registerHelper('date', (v: unknown) => (typeof v === 'string' && v.length >= 16 ? `${v.slice(0, 10)} ${v.slice(11, 16)} UTC` : String(v ?? '')));
hb.registerHelper('ago', (v: unknown, options: Handlebars.HelperOptions) => relative(String(v), String((options.data as { root?: { generated_at?: string } }).root?.generated_at ?? new Date().toISOString())));
hb.registerHelper('plural', (n: unknown, one: unknown, many: unknown) => plural(Number(n), String(one), typeof many === 'string' ? many : undefined));
hb.registerHelper('join', (list: unknown, sep: unknown) => (Array.isArray(list) ? list.map(String).join(typeof sep === 'string' ? sep : ', ') : ''));
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('inc', (n: unknown) => Number(n) + 1);

function templateError(src: TemplateSource, e: unknown): OrcError {
  const msg = (e as Error).message ?? String(e);
  const line = /line (\d+)/i.exec(msg)?.[1];
  const first = msg.split('\n')[0];
  const where = src.from === 'branch' ? `templates/${src.name} on the state branch` : `default template ${src.name}`;
  return new OrcError('TEMPLATE', `${where}${line ? `, line ${line}` : ''}: ${first}; fix it (orc templates edit ${src.name.replace(/\.hbs$/, '')}, or git) and run again`, { template: src.name, line: line ? Number(line) : null });
}

/** Renders a template; a parse or render failure is a TEMPLATE error naming the template and the line. */
export function render(src: TemplateSource, data: unknown): string {
  let fn: Handlebars.TemplateDelegate;
  try {
    hb.parse(src.text);
    fn = hb.compile(src.text, { noEscape: true, strict: false });
  } catch (e) {
    throw templateError(src, e);
  }
  try {
    return fn(data, { allowProtoPropertiesByDefault: false });
  } catch (e) {
    throw templateError(src, e);
  }
}
