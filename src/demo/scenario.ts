/**
 * What `orc demo` plays: a small todo service, its workstreams, the first
 * round of tasks, the follow-up rounds a planner adds once a round is done,
 * and the agents. Pure data and pure functions: no git, no clock.
 */

export interface DemoWorkstream {
  name: string;
  description: string;
  priority: number;
}

export interface DemoTask {
  workstream: string;
  id: string;
  title: string;
  description: string;
  priority: number;
  /** Ids in the same workstream that must be done first. */
  after: string[];
  /** Locked, in sorted order, while the agent works; the first is the file it edits. */
  resources: string[];
  kb: string[];
  /** A test file added in a second commit (code tasks). */
  test?: string;
  /** Appended to this knowledge topic when the task is done. */
  learn?: { topic: string; text: string };
  /** The first attempt fails with this reason, and the agent files a retry. */
  fails?: string;
}

export interface DemoAgent {
  id: string;
  type: string;
  capabilities: string[];
}

export const WORKSTREAMS: DemoWorkstream[] = [
  { name: 'api', description: 'The todo service: model, routes, errors', priority: 1 },
  { name: 'docs', description: 'Guides and reference for the API', priority: 2 },
  { name: 'ops', description: 'CI, container image and releases', priority: 3 },
];

/** The repo's first commit: a service small enough to read in a minute. */
export const INITIAL_FILES: Record<string, string> = {
  'README.md': `# tinytodo

A todo service, built by three simulated agents coordinating through orc.
This repository was made by \`orc demo\`: each agent works in its own worktree
(\`worktrees/<agent>\`, branch \`<agent>\`), and their tasks, claims, locks and
notes live on the \`orc\` branch.

    orc status                           # from here or any worktree
    git log --all --grep Orc-Task        # the agents' commits, each naming its task
`,
  'src/server.ts': `import { createServer } from 'node:http';
import { route } from './routes.js';

export function start(port = 3000) {
  return createServer(route).listen(port);
}
`,
  'src/routes.ts': `import type { IncomingMessage, ServerResponse } from 'node:http';

export function route(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: \`no route \${req.method} \${req.url}\` }));
}
`,
  'docs/index.md': `# tinytodo docs

- [Quick start](quickstart.md)
- [API reference](api.md)
`,
  'package.json': `${JSON.stringify({ name: 'tinytodo', version: '0.0.1', private: true, type: 'module', scripts: { test: 'node --test' } }, null, 2)}\n`,
};

export const KNOWLEDGE: Record<string, string> = {
  'conventions/api': `# API conventions

- JSON in and out; \`content-type: application/json\` on every answer.
- Ids are short random strings; never expose database row numbers.
- Lists are paged with \`?limit=\` (default 50, at most 500) and \`?after=<id>\`.
`,
  architecture: `# Architecture

\`src/server.ts\` starts an HTTP server; \`src/routes.ts\` maps requests to
handlers; \`src/todos.ts\` holds the model. One process, no framework, state in
memory until the storage task lands.
`,
};

type Spec = Omit<DemoTask, 'after' | 'kb'> & { after?: string[]; kb?: string[] };

const task = (t: Spec): DemoTask => ({ ...t, after: t.after ?? [], kb: t.kb ?? [] });

/** Round 1: the service from scratch. Two tasks share src/routes.ts (and docs/api.md), so agents queue for locks. */
const FIRST_ROUND: DemoTask[] = [
  task({
    workstream: 'api', id: 'todo-model', priority: 1, title: 'Define the Todo model and its validation',
    description: 'A Todo is {id, title, done, created_at}. Titles are 1-200 characters; reject anything else with a clear message.',
    resources: ['src/todos.ts'], kb: ['conventions/api'], test: 'test/todos.test.ts',
    learn: { topic: 'conventions/api', text: 'Validation errors answer 400 with {error, field}; the message names the field and the limit.' },
  }),
  task({
    workstream: 'api', id: 'list-todos', priority: 1, title: 'GET /todos with paging', after: ['todo-model'],
    description: 'List todos oldest first, paged by ?limit= and ?after= as the API conventions say.',
    resources: ['src/routes.ts'], kb: ['conventions/api'], test: 'test/list.test.ts',
  }),
  task({
    workstream: 'api', id: 'create-todo', priority: 1, title: 'POST /todos', after: ['todo-model'],
    description: 'Create a todo from {title}; answer 201 with the todo and a Location header.',
    resources: ['src/routes.ts'], kb: ['conventions/api'], test: 'test/create.test.ts',
  }),
  task({
    workstream: 'api', id: 'complete-todo', priority: 2, title: 'PATCH /todos/:id to mark a todo done', after: ['todo-model'],
    description: 'Accept {done: true|false}; 404 for an unknown id.',
    resources: ['src/routes.ts'], test: 'test/complete.test.ts',
  }),
  task({
    workstream: 'api', id: 'error-shape', priority: 2, title: 'One JSON error shape for every route',
    description: 'Every failure is {error, code} with the right status; no HTML, no stack traces.',
    resources: ['src/errors.ts'], kb: ['conventions/api'],
    learn: { topic: 'conventions/api', text: 'Errors are {error, code}: 400 bad input, 404 unknown id, 409 conflict, 500 only for bugs.' },
  }),
  task({
    workstream: 'api', id: 'rate-limit', priority: 3, title: 'Rate-limit writes per client', after: ['create-todo'],
    description: 'At most 20 writes per second per client address; answer 429 with Retry-After.',
    resources: ['src/middleware/rate-limit.ts'], test: 'test/rate-limit.test.ts',
    fails: 'the limiter keeps its counters in memory, so every restart resets them; it needs the shared store',
  }),
  task({
    workstream: 'docs', id: 'quickstart', priority: 1, title: 'Quick start: run the service and add a todo',
    description: 'From clone to the first todo in five commands.',
    resources: ['docs/quickstart.md'],
  }),
  task({
    workstream: 'docs', id: 'api-reference', priority: 2, title: 'API reference for /todos',
    description: 'Every route with its request, answer and errors, with curl examples.',
    resources: ['docs/api.md'], kb: ['conventions/api'],
  }),
  task({
    workstream: 'docs', id: 'error-codes', priority: 3, title: 'Document the error codes',
    description: 'A table of every error code, when it happens and what the caller should do.',
    resources: ['docs/api.md'], kb: ['conventions/api'],
  }),
  task({
    workstream: 'ops', id: 'ci-pipeline', priority: 1, title: 'CI: typecheck and test on every push',
    description: 'One job: install, typecheck, test; cache node_modules by the lockfile.',
    resources: ['ci/pipeline.yml'],
    learn: { topic: 'runbook/ci', text: 'CI caches node_modules by the lockfile hash; a red build on main blocks releases.' },
  }),
  task({
    workstream: 'ops', id: 'container-image', priority: 2, title: 'Container image for the service',
    description: 'A small image running as a non-root user, with a health check.',
    resources: ['Dockerfile'],
  }),
  task({
    workstream: 'ops', id: 'healthcheck', priority: 2, title: 'GET /health for the readiness probe',
    description: 'Answers 200 {ok: true} once the server listens; the container image probes it.',
    resources: ['src/routes.ts'],
  }),
  task({
    workstream: 'ops', id: 'release-script', priority: 3, title: 'Release script: tag, changelog, publish', after: ['ci-pipeline'],
    description: 'Bump the version, write the changelog from commit subjects, tag and push.',
    resources: ['CHANGELOG.md', 'ci/release.sh'],
  }),
];

/** Follow-up epics, one per later round, in turn. Ids get a `-r<round>` suffix. */
const EPICS: { name: string; tasks: DemoTask[] }[] = [
  {
    name: 'search',
    tasks: [
      task({ workstream: 'api', id: 'search-index', priority: 1, title: 'In-memory search index over titles', description: 'Tokenise titles; update the index on create and delete.', resources: ['src/search.ts'], test: 'test/search.test.ts' }),
      task({ workstream: 'api', id: 'search-route', priority: 2, title: 'GET /todos?q= searches titles', after: ['search-index'], description: 'Ranked by matches, then age; paged like the list.', resources: ['src/routes.ts'], test: 'test/search-route.test.ts' }),
      task({ workstream: 'docs', id: 'search-docs', priority: 2, title: 'Document search', description: 'The q parameter, ranking, and its limits.', resources: ['docs/api.md'] }),
      task({ workstream: 'ops', id: 'search-bench', priority: 3, title: 'Benchmark search at 100k todos', description: 'p50/p99 of GET /todos?q= against a seeded store.', resources: ['bench/search.ts'], learn: { topic: 'runbook/perf', text: 'Search p99 stays under 5 ms at 100k todos; past 1M, move the index out of process.' } }),
    ],
  },
  {
    name: 'tags',
    tasks: [
      task({ workstream: 'api', id: 'tags-model', priority: 1, title: 'Tags on todos', description: 'A todo carries up to 10 tags of 1-30 characters.', resources: ['src/todos.ts'], test: 'test/tags.test.ts' }),
      task({ workstream: 'api', id: 'tags-filter', priority: 2, title: 'GET /todos?tag= filters by tag', after: ['tags-model'], description: 'Several tags mean all of them.', resources: ['src/routes.ts'], test: 'test/tags-filter.test.ts' }),
      task({ workstream: 'docs', id: 'tags-guide', priority: 2, title: 'Guide: organising todos with tags', description: 'A short how-to with examples.', resources: ['docs/tags.md'] }),
      task({ workstream: 'ops', id: 'tags-migration', priority: 2, title: 'Migrate stored todos to carry tags', description: 'Add an empty tag list to every stored todo, resumably.', resources: ['ops/migrate-tags.ts'], fails: 'the migration timed out on the largest store; it must work in batches' }),
    ],
  },
  {
    name: 'auth',
    tasks: [
      task({ workstream: 'api', id: 'api-tokens', priority: 1, title: 'API tokens: issue and revoke', description: 'Tokens are random, stored hashed, shown once.', resources: ['src/tokens.ts'], test: 'test/tokens.test.ts', learn: { topic: 'conventions/api', text: 'Writes need Authorization: Bearer <token>; tokens are stored hashed and shown once.' } }),
      task({ workstream: 'api', id: 'auth-middleware', priority: 1, title: 'Require a token for writes', after: ['api-tokens'], description: '401 without a token, 403 with a revoked one.', resources: ['src/routes.ts'], test: 'test/auth.test.ts' }),
      task({ workstream: 'docs', id: 'auth-guide', priority: 2, title: 'Document authentication', description: 'Getting a token, using it, rotating it.', resources: ['docs/api.md'] }),
      task({ workstream: 'ops', id: 'secret-rotation', priority: 3, title: 'Rotate the signing secret without downtime', description: 'Accept the old and the new secret for one hour.', resources: ['ops/rotate-secret.sh'] }),
    ],
  },
  {
    name: 'hardening',
    tasks: [
      task({ workstream: 'api', id: 'body-limits', priority: 1, title: 'Limit request bodies to 64 KiB', description: '413 past the limit, before parsing.', resources: ['src/server.ts'], test: 'test/limits.test.ts' }),
      task({ workstream: 'api', id: 'fuzz-routes', priority: 2, title: 'Fuzz every route with malformed input', description: 'No 500 for any input; run 10k cases in CI.', resources: ['test/fuzz.test.ts'], fails: 'the fuzzer found a 500 on a title of 10k combining characters; the validation counts code units, not characters' }),
      task({ workstream: 'docs', id: 'security-notes', priority: 3, title: 'Security notes for operators', description: 'What the service trusts, what it logs, how to report a problem.', resources: ['docs/security.md'] }),
      task({ workstream: 'ops', id: 'dependency-audit', priority: 2, title: 'Audit dependencies in CI', description: 'Fail the build on a known high-severity advisory.', resources: ['ci/pipeline.yml'] }),
    ],
  },
];

/** The tasks of round `round` (1-based): the first round, then the epics in turn, ids suffixed from round 2 on. */
export function roundTasks(round: number): { name: string; tasks: DemoTask[] } {
  if (round <= 1) return { name: 'first release', tasks: FIRST_ROUND };
  const epic = EPICS[(round - 2) % EPICS.length]!;
  const suffix = `-r${round}`;
  return {
    name: epic.name,
    tasks: epic.tasks.map((t) => ({ ...t, id: `${t.id}${suffix}`, after: t.after.map((a) => `${a}${suffix}`) })),
  };
}

/** The task filed when a first attempt fails: same work, its own id, no planned failure. */
export function retryOf(t: DemoTask, reason: string): DemoTask {
  const { fails: _fails, ...rest } = t;
  return { ...rest, id: `${t.id}-retry`, title: `Retry: ${t.title}`, description: `The first attempt failed: ${reason}.\n\n${t.description}`, after: [] };
}

const NAMES = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret', 'dennis', 'frances', 'edsger', 'radia', 'donald', 'guido'];
const ROLES: { type: string; capabilities: string[] }[] = [
  { type: 'backend', capabilities: ['api', 'typescript', 'tests'] },
  { type: 'writer', capabilities: ['docs', 'api'] },
  { type: 'devops', capabilities: ['ops', 'ci', 'containers'] },
];

export const MAX_AGENTS = NAMES.length;

/** `n` agents, roles in turn: agent-ada (backend), agent-grace (writer), agent-linus (devops), … */
export function demoAgents(n: number): DemoAgent[] {
  return NAMES.slice(0, n).map((name, i) => ({ id: `agent-${name}`, ...ROLES[i % ROLES.length]! }));
}

/** The workstreams in the order an agent looks for work: those it has a capability for (in its order), then the rest by priority. */
export function preferredWorkstreams(agent: DemoAgent): string[] {
  const byPriority = [...WORKSTREAMS].sort((a, b) => a.priority - b.priority).map((w) => w.name);
  const mine = agent.capabilities.filter((c) => byPriority.includes(c));
  return [...mine, ...byPriority.filter((w) => !mine.includes(w))];
}

/** What an agent appends to the file it edits for a task: a few plausible lines in the file's own syntax. */
export function edit(file: string, t: Pick<DemoTask, 'workstream' | 'id' | 'title' | 'description'>, agent: string): string {
  const ref = `${t.workstream}/${t.id}`;
  if (file.endsWith('.md')) return `\n## ${t.title}\n\n${t.description}\n\n<!-- ${ref}, ${agent} -->\n`;
  if (file.endsWith('.ts')) {
    const fn = camel(t.id.replace(/-r\d+$|-retry$/, ''));
    return `\n/** ${t.title} (${ref}, ${agent}). */\nexport function ${fn}(): string {\n  return ${JSON.stringify(t.description)};\n}\n`;
  }
  return `\n# ${t.title} (${ref}, ${agent})\n# ${t.description}\n`;
}

/** A test file's contents for a task's second commit. */
export function testFile(t: Pick<DemoTask, 'workstream' | 'id' | 'title'>): string {
  return `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n\ntest(${JSON.stringify(t.title)}, () => {\n  assert.ok(true, '${t.workstream}/${t.id}');\n});\n`;
}

function camel(s: string): string {
  return s.replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase()).replace(/^[^A-Za-z_]+/, '') || 'work';
}
