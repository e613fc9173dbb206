/**
 * Help that reaches every command: `orc help t next`, examples in each
 * command's help, shell completion generated from the program (the bash one
 * sourced and called the way bash calls it), and the man page that
 * `git orc --help` opens (git turns it into `man git-orc`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORC_BIN, ROOT, cleanup, orc, testEnv, tmpDir, tmpRepo } from '../helpers.js';

afterAll(cleanup);

describe('orc help', () => {
  it("`orc help t next` is the subcommand's own help, with examples", () => {
    const repo = tmpRepo();
    const h = orc(repo, ['help', 't', 'next']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: orc t next \[options\] <workstream> \[agent\]/);
    expect(h.stdout).toContain('--wait');
    expect(h.stdout).toMatch(/Examples:\n {2}orc t next/);
    expect(h.stdout).toBe(orc(repo, ['t', 'next', '--help']).stdout);
    expect(orc(repo, ['help', 'task', 'claim']).stdout).toMatch(/^Usage: orc t claim/);
    const bad = orc(repo, ['help', 't', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no command "t nope"/);
    // Pointed at the help of the part that did name a command.
    expect(bad.stderr).toContain('see `orc t --help`');
    expect(orc(repo, ['help', 'nope']).stderr).toContain('see `orc --help`');
  });

  it('every leaf command that agents use shows examples', () => {
    const repo = tmpRepo();
    for (const words of [['t', 'list'], ['t', 'add'], ['lock', 'acquire'], ['ws', 'create'], ['kb', 'write'], ['events'], ['watch'], ['prime'], ['setup'], ['completion']]) {
      expect(orc(repo, ['help', ...words]).stdout, words.join(' ')).toMatch(/\nExamples:\n {2}(orc|source)/);
    }
  });
});

function complete(script: string, words: string[]): string[] {
  const file = path.join(tmpDir('orc-compl-'), 'orc.bash');
  fs.writeFileSync(file, script);
  const arr = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _orc_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('orc completion', () => {
  it('bash: sourced, _orc_complete completes commands, aliases, subcommands and options from the program', () => {
    const repo = tmpRepo();
    const r = orc(repo, ['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('complete -F _orc_complete orc git-orc orchestrator');
    expect(complete(r.stdout, ['orc', 'wa'])).toEqual(['watch']);
    expect(complete(r.stdout, ['orc', 't', 'n'])).toEqual(['next']);
    expect(complete(r.stdout, ['orc', 'task', 'cl'])).toEqual(['claim']);
    expect(complete(r.stdout, ['orc', 't', 'next', '--w'])).toEqual(['--wait']);
    expect(complete(r.stdout, ['orc', 'lock', 'acquire', 'deploy', '--ti'])).toEqual(['--timeout']);
    // A global option's value is not taken for a command word.
    expect(complete(r.stdout, ['orc', '--repo', 't', 'lo'])).toEqual(['lock', 'log']);
    expect(complete(r.stdout, ['orc', '--repo', '/x', 'lock', 'a'])).toEqual(['acquire']);
    // `help` is a command like the others; --version is offered only where it works (orc --version).
    expect(complete(r.stdout, ['orc', 'hel'])).toEqual(['help']);
    expect(complete(r.stdout, ['orc', '--ver'])).toEqual(['--version']);
    expect(complete(r.stdout, ['orc', 't', 'add', '--ver'])).toEqual([]);
    expect(orc(repo, ['t', 'add', '--version']).code).toBe(2);
  });

  it('zsh (through bashcompinit) and fish scripts name the same commands; an unknown shell is exit 2', () => {
    const repo = tmpRepo();
    const zsh = orc(repo, ['completion', 'zsh']).stdout;
    expect(zsh).toMatch(/^#compdef orc/);
    expect(zsh).toContain('bashcompinit');
    expect(zsh).toContain('_orc_complete');
    const fish = orc(repo, ['completion', 'fish']).stdout;
    expect(fish).toContain("complete -c orc -n '__fish_use_subcommand' -a 'watch'");
    expect(fish).toContain("complete -c orc -n '__fish_seen_subcommand_from next' -l wait");
    expect(orc(repo, ['completion', 'tcsh']).code).toBe(2);
  });
});

const hasMan = spawnSync('man', ['--version'], { encoding: 'utf8' }).status === 0;

describe('the man page and git orc --help', () => {
  it('man/man1/git-orc.1 is what `orc man` generates from the program (rebuild it with `node dist/cli/bin.cjs man > man/man1/git-orc.1`)', () => {
    const repo = tmpRepo();
    const shipped = fs.readFileSync(path.join(ROOT, 'man', 'man1', 'git-orc.1'), 'utf8');
    expect(orc(repo, ['man']).stdout).toBe(shipped);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
    expect(pkg.man).toEqual(['./man/man1/git-orc.1']);
    expect(pkg.files).toContain('man');
  });

  it.skipIf(!hasMan)('`git orc --help` shows the man page (not "No manual entry"), and `git orc help t next` prints orc\'s help', () => {
    const repo = tmpRepo();
    const bin = tmpDir('orc-bin-');
    fs.symlinkSync(ORC_BIN, path.join(bin, 'git-orc'));
    const env = testEnv({ PATH: `${bin}:${process.env.PATH ?? ''}`, MANPATH: `${path.join(ROOT, 'man')}:`, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' });
    const help = spawnSync('git', ['orc', '--help'], { cwd: repo, env, encoding: 'utf8' });
    expect(help.stderr + help.stdout).not.toMatch(/No manual entry/);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/GIT-ORC\(1\)/);
    expect(help.stdout).toMatch(/orc t next <workstream> \[agent\]/);
    const sub = spawnSync('git', ['orc', 'help', 't', 'next'], { cwd: repo, env, encoding: 'utf8' });
    expect(sub.status).toBe(0);
    expect(sub.stdout).toMatch(/^Usage: orc t next/);
  });
});
