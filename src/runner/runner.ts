/**
 * The runner's library API: plan a cycle, brief a task, collect a cycle,
 * and manage the templates they render with. Loaded only by the commands
 * that need it, since it brings Handlebars.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OrcError } from '../errors.js';
import type { Decision, OpDef } from '../model/ops.js';
import * as S from '../model/state.js';
import type { Orc } from '../ops/orc.js';
import { buildBrief, type BriefData } from './brief.js';
import { collectOp, type CollectResult } from './collect.js';
import { newCycleId, planOp, type PlanResult } from './plan.js';
import { findTemplate, listTemplates as listAll, renderer, templateName, type TemplateInfo, type TemplateSource } from './render.js';
import { templateWriteOp, type TemplateWriteResult } from './templates.js';

export type { BriefData } from './brief.js';
export type { CollectData, CollectResult } from './collect.js';
export type { PlanData, PlanResult } from './plan.js';
export type { TemplateInfo, TemplateSource } from './render.js';

/** Decides `def` on the tip without committing (dry runs), or runs it as an op (one commit, published like any op). */
async function runOrPreview<I, R>(orc: Orc, def: OpDef<I, R>, input: I, dryRun: boolean): Promise<{ result: R; commit: string | null }> {
  if (dryRun) {
    const snap = orc.store.snapshot(orc.store.tip());
    const d: Decision<R> = def.decide(snap, input, { actor: orc.agent ?? 'system', now: orc.now(), settings: S.settingsOf(snap) });
    orc.store.flushMemo();
    return { result: d.result, commit: null };
  }
  const out = await orc.runDef(def, input);
  orc.store.flushMemo();
  return { result: out.result, commit: out.commit };
}

/**
 * Plans a new cycle at the Orc's clock and commits plans/<cycle>.md,
 * cycles/<cycle>.json and the picks' briefs; with dryRun, renders from the
 * tip without committing. `cycle` fixes the id (tests); default: a new one.
 */
export async function plan(orc: Orc, opts: { dryRun?: boolean; cycle?: string } = {}): Promise<PlanResult & { commit: string | null }> {
  const input = planOp.parse({ cycle: opts.cycle ?? newCycleId(orc.now()) });
  const out = await runOrPreview(orc, planOp, input, opts.dryRun ?? false);
  return { ...out.result, commit: out.commit };
}

/** The brief of a task (the best ready one of the workstream when no id is given), rendered now; commits nothing. */
export async function brief(orc: Orc, workstream: string, id?: string | null): Promise<{ data: BriefData; markdown: string }> {
  const s = orc.store.snapshot(orc.store.tip());
  const data = buildBrief(s, workstream, id ?? null, orc.now());
  const markdown = renderer(s)('brief.md', data);
  orc.store.flushMemo();
  return { data, markdown };
}

/** Collects the newest cycle (or the one named) into cycles/<cycle>-collect.md; with dryRun, commits nothing. */
export async function collect(orc: Orc, opts: { dryRun?: boolean; cycle?: string } = {}): Promise<CollectResult & { commit: string | null }> {
  const input = collectOp.parse({ cycle: opts.cycle });
  const out = await runOrPreview(orc, collectOp, input, opts.dryRun ?? false);
  return { ...out.result, commit: out.commit };
}

// ---------------------------------------------------------------- templates

export async function listTemplates(orc: Orc): Promise<TemplateInfo[]> {
  return listAll(orc.store.snapshot(orc.store.tip()));
}

/** A template as it renders now: the branch's override, else the default. */
export async function showTemplate(orc: Orc, name: string): Promise<TemplateSource & { template: string }> {
  const n = templateName(name);
  const t = findTemplate(orc.store.snapshot(orc.store.tip()), n);
  if (!t) throw new OrcError('NOT_FOUND', `no template ${n} on the branch and no default of that name; see \`orc templates list\``, { name: n });
  return { ...t, template: n };
}

/** Commits `text` as the branch's templates/<name>.hbs, after checking that it parses. */
export async function writeTemplate(orc: Orc, name: string, text: string): Promise<TemplateWriteResult & { commit: string | null }> {
  const out = await orc.runDef(templateWriteOp, templateWriteOp.parse({ name, text }));
  return { ...out.result, commit: out.commit };
}

/** Removes the branch's override of a template, so the default applies again. */
export async function removeTemplate(orc: Orc, name: string): Promise<TemplateWriteResult & { commit: string | null }> {
  const out = await orc.runDef(templateWriteOp, templateWriteOp.parse({ name, text: null }));
  return { ...out.result, commit: out.commit };
}

/**
 * Opens $EDITOR (else $VISUAL, else vi) on the current template, then
 * commits what was saved if it changed and parses. The editor gets a temp
 * file, so nothing in the work tree is touched.
 */
export async function editTemplate(orc: Orc, name: string, env: NodeJS.ProcessEnv = process.env): Promise<(TemplateWriteResult & { commit: string | null; changed: boolean })> {
  const current = await showTemplate(orc, name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orc-template-'));
  const file = path.join(dir, current.name.replace(/\//g, '-'));
  try {
    fs.writeFileSync(file, current.text);
    const editor = env.EDITOR || env.VISUAL || 'vi';
    // vi without a terminal (a script, an agent's shell) paints escape codes into a pipe and hangs or fails.
    if (!env.EDITOR && !env.VISUAL && !(process.stdin.isTTY && process.stdout.isTTY)) {
      throw new OrcError('USAGE', `no editor: EDITOR is not set and this is not a terminal; set EDITOR, or write the template from a file: orc templates write ${name} - < FILE`);
    }
    // Through the shell, as git runs its editor: EDITOR may carry arguments ("code --wait").
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'orc-editor', file], { stdio: 'inherit', env });
    if (r.error) throw new OrcError('ENV', `could not run the editor ${JSON.stringify(editor)}: ${r.error.message}; set EDITOR`, { editor });
    if (r.status !== 0) throw new OrcError('USAGE', `the editor ${JSON.stringify(editor)} exited with ${r.status ?? r.signal}; nothing committed`, { editor });
    const text = fs.readFileSync(file, 'utf8');
    if (text === current.text) return { name: current.template, path: `templates/${current.name}`, bytes: Buffer.byteLength(text), commit: null, changed: false };
    const out = await writeTemplate(orc, current.template, text);
    return { ...out, changed: true };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
