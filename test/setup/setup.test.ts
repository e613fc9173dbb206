/**
 * `orc setup <target>` in scratch repos, through the CLI: the files each
 * target writes, a re-run that changes nothing, --remove giving back the
 * user's bytes exactly, --dry-run writing nothing, and nothing written
 * outside the repo (HOME is a scratch folder that must stay empty).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, orc, tmpDir, tmpRepo } from '../helpers.js';

afterAll(cleanup);

/** Every file under dir (but .git) with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.name === '.git') continue;
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
}

function scratch(): { repo: string; home: string; env: Record<string, string> } {
  const repo = tmpRepo();
  const home = tmpDir('orc-home-');
  return { repo, home, env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), CODEX_HOME: path.join(home, '.codex') } };
}

function run(repo: string, env: Record<string, string>, args: string[]) {
  const r = orc(repo, args, { env });
  expect(r.code, `orc ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

const FILES: Record<string, string[]> = {
  claude: ['.claude/settings.json', '.mcp.json', 'CLAUDE.md'],
  codex: ['.codex/config.toml', '.codex/hooks.json', 'AGENTS.md'],
  cursor: ['.cursor/mcp.json', 'AGENTS.md'],
  'agents-md': ['AGENTS.md'],
};

describe('orc setup', () => {
  for (const target of Object.keys(FILES)) {
    it(`${target}: creates its files, a re-run changes nothing, --remove leaves the repo as it was`, () => {
      const { repo, home, env } = scratch();
      const before = snapshot(repo);
      run(repo, env, ['setup', target]);
      const after = snapshot(repo);
      expect(Object.keys(after).sort()).toEqual(FILES[target]);
      const instr = after[target === 'claude' ? 'CLAUDE.md' : 'AGENTS.md']!;
      expect(instr).toContain('orc prime');
      expect(instr).toContain('orc agent use NAME');
      if (target === 'claude') {
        expect(JSON.parse(after['.mcp.json']!)).toEqual({ mcpServers: { orc: { command: 'orc', args: ['mcp'] } } });
        expect(JSON.parse(after['.claude/settings.json']!)).toEqual({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: 'orc prime' }] }] } });
      }
      if (target === 'cursor') expect(JSON.parse(after['.cursor/mcp.json']!)).toEqual({ mcpServers: { orc: { command: 'orc', args: ['mcp'] } } });
      if (target === 'codex') {
        expect(after['.codex/config.toml']).toContain('[mcp_servers.orc]\ncommand = "orc"\nargs = ["mcp"]\n');
        expect(JSON.parse(after['.codex/hooks.json']!)).toEqual({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: 'orc prime' }] }] } });
      }

      const again = run(repo, env, ['setup', target, '--json']);
      expect((JSON.parse(again.stdout) as { action: string }[]).every((c) => c.action === 'unchanged')).toBe(true);
      expect(snapshot(repo)).toEqual(after);

      run(repo, env, ['setup', target, '--remove']);
      expect(snapshot(repo)).toEqual(before);
      expect(fs.existsSync(path.join(repo, '.claude')) || fs.existsSync(path.join(repo, '.cursor')) || fs.existsSync(path.join(repo, '.codex'))).toBe(false);
      expect(fs.readdirSync(home), 'nothing written outside the repo').toEqual([]);
    });
  }

  it("keeps the user's AGENTS.md text and gives back its exact bytes (no final newline, CRLF, odd spacing)", () => {
    const { repo, env } = scratch();
    const user = '# My project\r\n\r\nRules:   keep it  tidy.\r\n\r\n<!-- a comment -->\r\nlast line without newline';
    fs.writeFileSync(path.join(repo, 'AGENTS.md'), user);
    run(repo, env, ['setup', 'agents-md']);
    const text = fs.readFileSync(path.join(repo, 'AGENTS.md'), 'utf8');
    expect(text.startsWith(user)).toBe(true);
    expect(text).toContain('orc prime');
    run(repo, env, ['setup', 'agents-md']);
    expect(fs.readFileSync(path.join(repo, 'AGENTS.md'), 'utf8')).toBe(text);
    run(repo, env, ['setup', 'agents-md', '--remove']);
    expect(fs.readFileSync(path.join(repo, 'AGENTS.md'), 'latin1')).toBe(user);
  });

  it("merges into the user's .mcp.json and settings.json and restores them byte for byte", () => {
    const { repo, env } = scratch();
    const mcp = '{ "mcpServers": { "other": { "command": "x" } },\n  "note": 1 }';
    const settings = '{\n    "permissions": {"allow": ["Bash(ls)"]},\n    "hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "echo hi"}]}]}\n}\n';
    fs.writeFileSync(path.join(repo, '.mcp.json'), mcp);
    fs.mkdirSync(path.join(repo, '.claude'));
    fs.writeFileSync(path.join(repo, '.claude', 'settings.json'), settings);
    fs.writeFileSync(path.join(repo, 'CLAUDE.md'), 'Be brief.\n');
    run(repo, env, ['setup', 'claude']);
    const m = JSON.parse(fs.readFileSync(path.join(repo, '.mcp.json'), 'utf8'));
    expect(m).toEqual({ mcpServers: { other: { command: 'x' }, orc: { command: 'orc', args: ['mcp'] } }, note: 1 });
    const s = JSON.parse(fs.readFileSync(path.join(repo, '.claude', 'settings.json'), 'utf8'));
    expect(s.permissions).toEqual({ allow: ['Bash(ls)'] });
    expect(s.hooks.SessionStart).toHaveLength(2);
    expect(fs.readFileSync(path.join(repo, 'CLAUDE.md'), 'utf8').startsWith('Be brief.\n\n<!-- orc:begin')).toBe(true);
    run(repo, env, ['setup', 'claude', '--remove']);
    expect(fs.readFileSync(path.join(repo, '.mcp.json'), 'utf8')).toBe(mcp);
    expect(fs.readFileSync(path.join(repo, '.claude', 'settings.json'), 'utf8')).toBe(settings);
    expect(fs.readFileSync(path.join(repo, 'CLAUDE.md'), 'utf8')).toBe('Be brief.\n');
  });

  it('--remove after the user edited elsewhere in the file takes out only orc\'s part', () => {
    const { repo, env } = scratch();
    fs.writeFileSync(path.join(repo, 'AGENTS.md'), 'Mine.\n');
    run(repo, env, ['setup', 'agents-md']);
    fs.appendFileSync(path.join(repo, 'AGENTS.md'), '\nAdded later.\n');
    run(repo, env, ['setup', 'agents-md', '--remove']);
    expect(fs.readFileSync(path.join(repo, 'AGENTS.md'), 'utf8')).toBe('Mine.\n\nAdded later.\n');
  });

  it("appends to the user's .codex/config.toml after its tables and restores it exactly", () => {
    const { repo, env } = scratch();
    const toml = 'model = "o3"\n\n[mcp_servers.other]\ncommand = "x"';
    fs.mkdirSync(path.join(repo, '.codex'));
    fs.writeFileSync(path.join(repo, '.codex', 'config.toml'), toml);
    run(repo, env, ['setup', 'codex']);
    const text = fs.readFileSync(path.join(repo, '.codex', 'config.toml'), 'utf8');
    expect(text.startsWith(`${toml}\n\n# orc:begin`)).toBe(true);
    run(repo, env, ['setup', 'codex', '--remove']);
    expect(fs.readFileSync(path.join(repo, '.codex', 'config.toml'), 'utf8')).toBe(toml);
    expect(fs.readdirSync(path.join(repo, '.codex'))).toEqual(['config.toml']);
  });

  it("never writes a config.toml Codex cannot read: the user's own [mcp_servers.orc] or an inline mcp_servers is refused, and nothing is written", () => {
    for (const toml of ['[mcp_servers.orc]\ncommand = "/opt/node"\nargs = ["/opt/orc/bin.cjs", "mcp"]\n', 'mcp_servers = { other = { command = "x" } }\n', 'mcp_servers.orc.command = "orc"\n']) {
      const { repo, env } = scratch();
      fs.mkdirSync(path.join(repo, '.codex'));
      fs.writeFileSync(path.join(repo, '.codex', 'config.toml'), toml);
      const before = snapshot(repo);
      const r = orc(repo, ['setup', 'codex'], { env });
      expect(r.code, toml).toBe(2);
      expect(r.stderr, toml).toMatch(/^orc: .*config\.toml (already has an MCP server "orc" of its own|writes mcp_servers as an inline table)/);
      // Decided before anything was written: no AGENTS.md, no hooks.json, no manifest.
      expect(snapshot(repo), toml).toEqual(before);
      expect(fs.existsSync(path.join(repo, '.git', 'orc-setup.json'))).toBe(false);
    }
  });

  it('leaves an "orc" MCP entry of the user\'s own (absolute paths, its env) and writes nothing', () => {
    const { repo, env } = scratch();
    const mine = { mcpServers: { orc: { command: '/usr/local/bin/node', args: ['/opt/orc/dist/cli/bin.cjs', 'mcp'], env: { ORC_AGENT: 'alice' } } } };
    fs.writeFileSync(path.join(repo, '.mcp.json'), JSON.stringify(mine));
    const before = snapshot(repo);
    const r = orc(repo, ['setup', 'claude'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.mcp\.json already registers an MCP server "orc" of its own/);
    expect(snapshot(repo)).toEqual(before);
    // --remove takes out only what setup wrote: the user's own entry stays.
    expect(orc(repo, ['setup', 'claude', '--remove'], { env }).code).toBe(0);
    expect(snapshot(repo)).toEqual(before);
  });

  it("--global keeps ~/.claude.json's mode (0600: it can hold keys), and its copy in the manifest is the owner's only", () => {
    const { repo, home, env } = scratch();
    const file = path.join(home, '.claude.json');
    fs.writeFileSync(file, JSON.stringify({ oauthAccount: { token: 'secret' } }), { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    run(repo, env, ['setup', 'claude', '--global']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const manifest = path.join(home, '.config', 'orc', 'setup-global.json');
    expect(fs.statSync(manifest).mode & 0o777).toBe(0o600);
    run(repo, env, ['setup', 'claude', '--global', '--remove']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ oauthAccount: { token: 'secret' } });
  });

  it('says when no `orc` is on PATH (the client starts it by that name), and not when there is one', () => {
    const bin = tmpDir('orc-path-');
    fs.symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), path.join(bin, 'git'));
    const { repo, env } = scratch();
    const without = orc(repo, ['setup', 'cursor'], { env: { ...env, PATH: bin } });
    expect(without.code, without.stderr).toBe(0);
    expect(without.stderr).toMatch(/^orc: note: no `orc` on PATH here/m);
    fs.writeFileSync(path.join(bin, 'orc'), '#!/bin/sh\n', { mode: 0o755 });
    const other = scratch();
    const withIt = orc(other.repo, ['setup', 'cursor'], { env: { ...other.env, PATH: bin } });
    expect(withIt.code, withIt.stderr).toBe(0);
    expect(withIt.stderr).not.toMatch(/no `orc` on PATH/);
  });

  it('AGENTS.md shared by codex and cursor stays until the last of them is removed', () => {
    const { repo, env } = scratch();
    run(repo, env, ['setup', 'codex']);
    run(repo, env, ['setup', 'cursor']);
    run(repo, env, ['setup', 'codex', '--remove']);
    expect(fs.readFileSync(path.join(repo, 'AGENTS.md'), 'utf8')).toContain('orc prime');
    expect(fs.existsSync(path.join(repo, '.codex'))).toBe(false);
    run(repo, env, ['setup', 'cursor', '--remove']);
    expect(snapshot(repo)).toEqual({});
  });

  it('--dry-run prints the diff and writes nothing', () => {
    const { repo, env } = scratch();
    fs.writeFileSync(path.join(repo, 'AGENTS.md'), 'Mine.\n');
    const before = snapshot(repo);
    const r = run(repo, env, ['setup', 'codex', '--dry-run']);
    expect(r.stdout).toContain('+++ AGENTS.md');
    expect(r.stdout).toContain('  Mine.');
    expect(r.stdout).toContain('+ [mcp_servers.orc]');
    expect(r.stdout).toContain('--- /dev/null');
    expect(snapshot(repo)).toEqual(before);
    expect(fs.existsSync(path.join(repo, '.git', 'orc-setup.json'))).toBe(false);
  });

  it('--global writes the user-level files under HOME only, and --remove takes them away', () => {
    const { repo, home, env } = scratch();
    const before = snapshot(repo);
    run(repo, env, ['setup', 'claude', '--global']);
    expect(snapshot(repo)).toEqual(before);
    expect(JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8')).mcpServers.orc).toEqual({ command: 'orc', args: ['mcp'] });
    expect(fs.existsSync(path.join(home, '.claude', 'settings.json'))).toBe(true);
    // The user-level hook runs in every session: outside a repo it must stay quiet (exit 0), not fail.
    expect(JSON.parse(fs.readFileSync(path.join(home, '.claude', 'settings.json'), 'utf8')).hooks.SessionStart[0].hooks[0].command).toBe('orc prime --if-repo');
    // The project's own hook is the plain one.
    run(repo, env, ['setup', 'claude']);
    expect(JSON.parse(fs.readFileSync(path.join(repo, '.claude', 'settings.json'), 'utf8')).hooks.SessionStart[0].hooks[0].command).toBe('orc prime');
    run(repo, env, ['setup', 'claude', '--remove']);
    run(repo, env, ['setup', 'claude', '--global', '--remove']);
    expect(fs.existsSync(path.join(home, '.claude.json'))).toBe(false);
    expect(fs.existsSync(path.join(home, '.claude'))).toBe(false);
    expect(fs.readdirSync(home).filter((f) => f !== '.config')).toEqual([]);
    expect(fs.readdirSync(path.join(home, '.config'))).toEqual([]);
  });

  it('refuses an unknown target with exit 2 and writes nothing', () => {
    const { repo, env } = scratch();
    const r = orc(repo, ['setup', 'emacs'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^orc: unknown setup target "emacs"; use one of claude, codex, cursor, agents-md\n$/);
    expect(snapshot(repo)).toEqual({});
  });
});
