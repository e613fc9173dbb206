/** Examples shown after each command's help (`orc t next --help`), and in the man page. */
import type { Command } from 'commander';

const EXAMPLES: Record<string, string[]> = {
  init: ['orc init', 'orc init --remote origin        # claims and locks decided at origin'],
  sync: ['orc sync', 'orc sync --json'],
  status: ['orc status', 'orc status --json | jq .summary'],
  'ws create': ['orc ws create api "The REST API" 1'],
  'ws list': ['orc ws list', 'orc ws list --json name,priority'],
  't add': ['orc t add api "Add pagination" "cursor-based" 2', 'orc t add api "Docs" --after ID'],
  't list': ['orc t list api', 'orc t list --mine', 'orc t list --all --status pending --json id,title,status'],
  't show': ['orc t show api ID'],
  't claim': ['orc t claim api ID a1 --lease 30m'],
  't next': ['orc t next api a1', 'orc t next api --wait --timeout 10m --json   # block until work appears'],
  't complete': ['orc t complete api ID "merged in abc123"'],
  't fail': ['orc t fail api ID "tests fail on node 20"'],
  't reopen': ['orc t reopen api ID "needs another pass"'],
  'a register': ['orc a register a1 claude --capabilities ts,tests'],
  'a heartbeat': ['orc a heartbeat a1'],
  'a list': ['orc a list', 'orc a list --json id,stale'],
  'a use': ['orc agent use a1'],
  'lock acquire': ['orc lock acquire deploy a1 --ttl 5m', 'orc lock acquire "src/api/**" --wait --timeout 2m --json   # queue for it'],
  'lock release': ['orc lock release deploy a1'],
  'lock list': ['orc lock list', 'orc lock list --json resource,agent,token'],
  'kb write': ['orc kb write notes/setup "run npm ci first"', 'cat design.md | orc kb write design -'],
  'kb read': ['orc kb read notes/setup'],
  'kb list': ['orc kb list', 'orc kb list --json topic'],
  'kb rm': ['orc kb rm notes/old'],
  events: ['orc events --last 20', 'orc events --action task_claimed --json ts,agent,task_id'],
  event: [`orc event deployed '{"env":"prod"}'`],
  log: ['orc log --last 10', 'orc log --json commit,summary'],
  ready: ['orc ready', 'orc ready --json id,title'],
  plan: ['orc plan'],
  brief: ['orc brief api ID'],
  prime: ['orc prime', 'orc prime --json'],
  mcp: ['orc mcp --agent a1'],
  setup: ['orc setup claude', 'orc setup codex --dry-run', 'orc setup cursor --remove'],
  serve: ['orc serve --port 4000'],
};

export const examplesOf = (path: string): string[] => EXAMPLES[path] ?? [];

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds "Examples:" after the help of every registered command that has some (and has none yet). */
export function addExamples(cmd: Command): void {
  for (const sub of cmd.commands) {
    const ex = EXAMPLES[pathOf(sub)];
    if (ex && !sub.helpInformation().includes('Examples:')) sub.addHelpText('after', `\nExamples:\n${ex.map((l) => `  ${l}`).join('\n')}`);
    addExamples(sub);
  }
}
