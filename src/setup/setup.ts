/**
 * `orc setup <claude|codex|cursor|agents-md>`: writes what a client needs to
 * use orc: instructions (a section between markers in AGENTS.md or
 * CLAUDE.md), the MCP server registration in the client's config format, and
 * where the client has hooks, a session-start hook running `orc prime`.
 *
 * Idempotent (a second run changes nothing) and reversible: the first time a
 * file is touched its original bytes are kept in a manifest in the git dir
 * (for --global, in the user's config dir); --remove puts them back exactly
 * when the file still holds only what setup made of them, and otherwise takes
 * out only orc's part. Nothing outside the worktree is touched unless --global.
 */
import { fs, os, path } from '../node.js';
import { OrcError, invalid } from '../errors.js';

export const TARGETS = ['claude', 'codex', 'cursor', 'agents-md'] as const;
export type Target = (typeof TARGETS)[number];

export interface SetupOptions {
  /** The worktree root (project files go here). */
  root: string;
  /** The worktree's git dir (the manifest lives here). */
  gitDir: string;
  remove?: boolean;
  dryRun?: boolean;
  global?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface FileChange {
  path: string;
  action: 'created' | 'updated' | 'unchanged' | 'restored' | 'removed' | 'deleted';
  diff?: string;
}

/** One file setup manages: how to add orc's part to its text and how to take it out again. */
interface Managed {
  file: string;
  add(before: string | null): string;
  strip(text: string): string | null;
}

const MD_BEGIN = '<!-- orc:begin (orc setup writes this section; orc setup --remove takes it out) -->';
const MD_END = '<!-- orc:end -->';
const TOML_BEGIN = '# orc:begin (orc setup writes this table; orc setup --remove takes it out)';
const TOML_END = '# orc:end';
/** Marks a block that had to start a new line because the user's file did not end with one. */
const NOEOL = ' noeol';

export const INSTRUCTIONS = `## Coordinating with orc

Agents here coordinate through orc: tasks, claims, locks and knowledge on the git branch \`orc\`.

- Start every session with \`orc prime\`: who you are, your claims and locks, ready tasks, your loop.
- Name yourself once per worktree: \`orc agent use NAME\`.
- Loop: \`orc t next WS\` to claim; \`orc a heartbeat\` while working; \`orc lock acquire RES\` before touching a shared resource (\`orc lock release RES\` after); \`orc kb write TOPIC -\` to share what you learned; \`orc t complete WS ID 'RESULT'\` (or \`orc t fail\`).
- Add \`--json\` for machine output. The MCP server (\`orc mcp\`) offers the same as tools.`;

// ------------------------------------------------------------ text blocks between markers

function blockRe(begin: string, end: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const [b0, b1] = begin.includes(' (') ? [begin.slice(0, begin.indexOf(' (')), begin.slice(begin.indexOf(' ('))] : [begin, ''];
  return new RegExp(`(\\n)?${esc(b0)}(${esc(NOEOL)})?${esc(b1)}\\n[\\s\\S]*?${esc(end)}\\n?`);
}

function withMarker(begin: string, noeol: boolean): string {
  if (!noeol) return begin;
  const i = begin.indexOf(' (');
  return i < 0 ? begin + NOEOL : begin.slice(0, i) + NOEOL + begin.slice(i);
}

function textBlock(file: string, begin: string, end: string, body: string): Managed {
  const re = blockRe(begin, end);
  return {
    file,
    add(before) {
      const m = before === null ? null : re.exec(before);
      if (before !== null && m) {
        const block = `${m[1] ?? ''}${withMarker(begin, m[2] !== undefined)}\n${body}\n${end}\n`;
        return before.slice(0, m.index) + block + before.slice(m.index + m[0].length);
      }
      if (!before) return `${begin}\n${body}\n${end}\n`;
      const noeol = !before.endsWith('\n');
      return `${before}${noeol ? '\n' : ''}\n${withMarker(begin, noeol)}\n${body}\n${end}\n`;
    },
    strip(text) {
      const m = re.exec(text);
      if (!m) return text;
      let head = text.slice(0, m.index);
      const tail = text.slice(m.index + m[0].length);
      // The blank line setup put before its block goes with it; so does the newline it had to add.
      if (m[1] !== undefined && m[2] !== undefined && head.endsWith('\n') && !tail) head = head.slice(0, -1);
      const out = head + tail;
      return out === '' ? null : out;
    },
  };
}

// ------------------------------------------------------------ JSON files

function parseJson(file: string, text: string | null): Record<string, unknown> {
  if (text === null || !text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw invalid(`${file} is not a JSON object; fix it (or move it away) and run orc setup again`, { file });
}

const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const dump = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export const MCP_ENTRY = { command: 'orc', args: ['mcp'] };

function mcpJson(file: string, key = 'mcpServers'): Managed {
  return {
    file,
    add(before) {
      const o = parseJson(file, before);
      const servers = obj(o[key]) ?? {};
      if (same(servers.orc, MCP_ENTRY) && before !== null) return before;
      // An "orc" server of the user's own (absolute paths, an env with ORC_AGENT) is theirs: never overwritten.
      if (servers.orc !== undefined) {
        throw invalid(`${file} already registers an MCP server "orc" of its own (${JSON.stringify(servers.orc).slice(0, 200)}); setup leaves it: keep it, or remove that entry and run orc setup again`, { file });
      }
      return dump({ ...o, [key]: { ...servers, orc: MCP_ENTRY } });
    },
    strip(text) {
      const o = parseJson(file, text);
      const servers = obj(o[key]);
      if (!servers || !('orc' in servers)) return text;
      const { orc: _drop, ...rest } = servers;
      const out: Record<string, unknown> = { ...o, [key]: rest };
      if (!Object.keys(rest).length) delete out[key];
      return Object.keys(out).length ? dump(out) : null;
    },
  };
}

const PRIME = 'orc prime';
/** The user-level hook runs in every session, in a repo or not: outside one it prints nothing and exits 0. */
const PRIME_IF_REPO = 'orc prime --if-repo';
const isPrimeGroup = (g: unknown) => Array.isArray(obj(g)?.hooks) && (obj(g)!.hooks as unknown[]).some((h) => obj(h)?.command === PRIME || obj(h)?.command === PRIME_IF_REPO);

/**
 * A hooks file in Claude Code's shape (.claude/settings.json; Codex's .codex/hooks.json takes the same):
 * hooks.SessionStart gets a group running `orc prime`, whose output joins the session's context.
 */
function sessionHook(file: string, command = PRIME): Managed {
  const PRIME_HOOK = { type: 'command', command };
  return {
    file,
    add(before) {
      const o = parseJson(file, before);
      const hooks = obj(o.hooks) ?? {};
      const start = Array.isArray(hooks.SessionStart) ? (hooks.SessionStart as unknown[]) : [];
      if (start.some(isPrimeGroup) && before !== null) return before;
      return dump({ ...o, hooks: { ...hooks, SessionStart: [...start, { hooks: [PRIME_HOOK] }] } });
    },
    strip(text) {
      const o = parseJson(file, text);
      const hooks = obj(o.hooks);
      if (!hooks || !Array.isArray(hooks.SessionStart) || !hooks.SessionStart.some(isPrimeGroup)) return text;
      const start = (hooks.SessionStart as unknown[]).filter((g) => !isPrimeGroup(g));
      const h: Record<string, unknown> = { ...hooks, SessionStart: start };
      if (!start.length) delete h.SessionStart;
      const out: Record<string, unknown> = { ...o, hooks: h };
      if (!Object.keys(h).length) delete out.hooks;
      return Object.keys(out).length ? dump(out) : null;
    },
  };
}

// ------------------------------------------------------------ targets

const TOML_BODY = `[mcp_servers.orc]\ncommand = "orc"\nargs = ["mcp"]`;

/**
 * Codex's config.toml gets orc's table as a marked block. TOML refuses a
 * table declared twice, and an invalid config.toml stops Codex from starting:
 * a `[mcp_servers.orc]` of the user's own (what `codex mcp add orc` writes), or
 * `mcp_servers` written as an inline table or with dotted keys, is refused, so
 * setup never writes a file Codex cannot read.
 */
function codexToml(file: string): Managed {
  const block = textBlock(file, TOML_BEGIN, TOML_END, TOML_BODY);
  const re = blockRe(TOML_BEGIN, TOML_END);
  return {
    ...block,
    add(before) {
      const outside = before === null ? '' : before.replace(re, '');
      if (/^[ \t]*\[[ \t]*mcp_servers[ \t]*\.[ \t]*(?:orc|"orc"|'orc')[ \t]*\]/m.test(outside) || /^[ \t]*mcp_servers[ \t]*\.[ \t]*(?:orc|"orc"|'orc')[ \t]*[.=]/m.test(outside)) {
        throw invalid(`${file} already has an MCP server "orc" of its own ([mcp_servers.orc]); setup leaves it: keep it, or remove it (codex mcp remove orc) and run orc setup again`, { file });
      }
      if (/^[ \t]*mcp_servers[ \t]*=/m.test(outside)) {
        throw invalid(`${file} writes mcp_servers as an inline table, which a [mcp_servers.orc] table would redeclare; write it as [mcp_servers.NAME] tables and run orc setup again`, { file });
      }
      return block.add(before);
    },
  };
}

function filesOf(target: Target, opts: SetupOptions): Managed[] {
  const env = opts.env ?? process.env;
  const md = (f: string) => textBlock(f, MD_BEGIN, MD_END, INSTRUCTIONS);
  if (!opts.global) {
    const at = (...p: string[]) => path.join(opts.root, ...p);
    switch (target) {
      case 'claude':
        return [md(at('CLAUDE.md')), mcpJson(at('.mcp.json')), sessionHook(at('.claude', 'settings.json'))];
      case 'codex':
        return [md(at('AGENTS.md')), codexToml(at('.codex', 'config.toml')), sessionHook(at('.codex', 'hooks.json'))];
      case 'cursor':
        return [md(at('AGENTS.md')), mcpJson(at('.cursor', 'mcp.json'))];
      case 'agents-md':
        return [md(at('AGENTS.md'))];
    }
  }
  const home = env.HOME || os.homedir();
  switch (target) {
    case 'claude':
      return [md(path.join(home, '.claude', 'CLAUDE.md')), mcpJson(path.join(home, '.claude.json')), sessionHook(path.join(home, '.claude', 'settings.json'), PRIME_IF_REPO)];
    case 'codex': {
      const codex = env.CODEX_HOME || path.join(home, '.codex');
      return [md(path.join(codex, 'AGENTS.md')), codexToml(path.join(codex, 'config.toml')), sessionHook(path.join(codex, 'hooks.json'), PRIME_IF_REPO)];
    }
    case 'cursor':
      return [mcpJson(path.join(home, '.cursor', 'mcp.json'))];
    case 'agents-md':
      throw new OrcError('USAGE', 'agents-md has no global file; run `orc setup agents-md` inside the repo');
  }
}

// ------------------------------------------------------------ manifest: the user's bytes before setup

interface Manifest {
  /** Per file: its bytes before setup first touched it (null: it did not exist), the folders made for it, the targets using it. */
  files: Record<string, { original: string | null; dirs: string[]; targets?: string[] }>;
}

function manifestPath(opts: SetupOptions): string {
  if (!opts.global) return path.join(opts.gitDir, 'orc-setup.json');
  const env = opts.env ?? process.env;
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(xdg, 'orc', 'setup-global.json');
}

function readManifest(file: string): Manifest {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return { files: {} };
  }
}

function writeManifest(file: string, m: Manifest): void {
  if (!Object.keys(m.files).length) {
    fs.rmSync(file, { force: true });
    try {
      if (path.basename(path.dirname(file)) === 'orc') fs.rmdirSync(path.dirname(file));
    } catch {
      /* other files in it */
    }
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // It holds copies of the user's files (~/.claude.json among them): readable by its owner only.
  fs.writeFileSync(file, dump(m), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

const readText = (f: string): string | null => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
};

/** Writes atomically, making the folders it needs; returns the folders it made. */
function writeFile(file: string, text: string): string[] {
  const made: string[] = [];
  for (let d = path.dirname(file); !fs.existsSync(d); d = path.dirname(d)) made.unshift(d);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.orc-${process.pid}.tmp`;
  // The file keeps its mode (~/.claude.json is 0600: it can hold keys); a new file gets the umask's.
  let mode: number | undefined;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    mode = undefined;
  }
  fs.writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
  if (mode !== undefined) fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
  return made;
}

// ------------------------------------------------------------ diff for --dry-run

/** A line diff (LCS), unified style without hunks: enough to see what setup would change. */
export function lineDiff(file: string, before: string | null, after: string | null): string {
  const a = before === null ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === null ? [] : after.replace(/\n$/, '').split('\n');
  const n = a.length;
  const m = b.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = a[i] === b[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const out = [`--- ${before === null ? '/dev/null' : file}`, `+++ ${after === null ? '/dev/null' : file}`];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < m && (i === n || L[i]![j + 1]! >= L[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out.join('\n');
}

// ------------------------------------------------------------ the command

export function setup(target: string, opts: SetupOptions): FileChange[] {
  if (!(TARGETS as readonly string[]).includes(target)) throw new OrcError('USAGE', `unknown setup target "${target}"; use one of ${TARGETS.join(', ')}`);
  const files = filesOf(target as Target, opts);
  const mfile = manifestPath(opts);
  const manifest = readManifest(mfile);
  const changes: FileChange[] = [];
  const madeDirs: string[] = [];
  // Every file is read and decided before any is written: a refusal (a broken file, a user's own
  // "orc" entry) leaves all of them as they were, and the manifest with them.
  if (!opts.remove) for (const f of files) f.add(readText(f.file));
  for (const f of files) {
    const before = readText(f.file);
    const kept = manifest.files[f.file];
    // AGENTS.md serves codex, cursor and agents-md: removing one target keeps it while another still uses it.
    const others = (kept?.targets ?? []).filter((t) => t !== target);
    let after: string | null;
    if (opts.remove && others.length) after = before;
    else if (!opts.remove) after = f.add(before);
    else if (before === null) after = null;
    // A file setup has no record of writing (an "orc" entry the user made, a refused setup) is not touched.
    else if (!kept) after = before;
    else if (kept.original !== undefined && f.add(kept.original) === before) after = kept.original;
    else after = f.strip(before);
    const rel = opts.global ? f.file : path.relative(opts.root, f.file);
    if (after === before) {
      changes.push({ path: rel, action: 'unchanged' });
      if (opts.dryRun) continue;
      if (opts.remove && others.length) kept!.targets = others;
      else if (opts.remove) delete manifest.files[f.file];
      else if (kept && !(kept.targets ?? []).includes(target)) kept.targets = [...(kept.targets ?? []), target];
      continue;
    }
    const action: FileChange['action'] = !opts.remove ? (before === null ? 'created' : 'updated') : after === null ? 'deleted' : kept && after === kept.original ? 'restored' : 'removed';
    changes.push({ path: rel, action, ...(opts.dryRun ? { diff: lineDiff(rel, before, after) } : {}) });
    if (opts.dryRun) continue;
    if (!opts.remove) {
      const dirs = writeFile(f.file, after!);
      if (!kept) manifest.files[f.file] = { original: before, dirs, targets: [target] };
      else if (!(kept.targets ?? []).includes(target)) kept.targets = [...(kept.targets ?? []), target];
    } else {
      if (after === null) fs.rmSync(f.file, { force: true });
      else writeFile(f.file, after);
      madeDirs.push(...(kept?.dirs ?? []));
      delete manifest.files[f.file];
    }
  }
  // Folders setup made (.claude, .cursor, .codex) go too, deepest first, when nothing else is in them.
  for (const d of [...new Set(madeDirs)].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
    } catch {
      /* not empty: the user's files are in it */
    }
  }
  if (!opts.dryRun) writeManifest(mfile, manifest);
  return changes;
}
