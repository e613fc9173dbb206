/**
 * The demo's scenario is data the ops must accept: every round's tasks
 * valid, dependencies inside their workstream and filed before their
 * dependents, ids unique across rounds, and no task waiting on one that is
 * meant to fail (its dependents would never run).
 */
import { describe, expect, it } from 'vitest';
import { checkLine, checkName, checkResource, checkTopic } from '../../src/model/validate.js';
import { demoAgents, MAX_AGENTS, preferredWorkstreams, retryOf, roundTasks, WORKSTREAMS, KNOWLEDGE, edit } from '../../src/demo/scenario.js';

describe('demo scenario', () => {
  it('every round is a valid plan', () => {
    const ids = new Set<string>();
    const workstreams = new Set(WORKSTREAMS.map((w) => w.name));
    for (let round = 1; round <= 8; round++) {
      const { tasks } = roundTasks(round);
      expect(tasks.length).toBeGreaterThanOrEqual(4);
      const filed = new Set<string>();
      const failing = new Set(tasks.filter((t) => t.fails).map((t) => `${t.workstream}/${t.id}`));
      for (const t of tasks) {
        const ref = `${t.workstream}/${t.id}`;
        expect(workstreams.has(t.workstream)).toBe(true);
        checkName('task', t.id);
        checkLine('title', t.title, 500);
        checkLine('title', retryOf(t, 'x').title, 500);
        t.resources.forEach(checkResource);
        t.kb.forEach(checkTopic);
        if (t.learn) checkTopic(t.learn.topic);
        expect(t.resources.length).toBeGreaterThan(0);
        expect(ids.has(ref), ref).toBe(false);
        ids.add(ref);
        for (const dep of t.after) {
          expect(filed.has(`${t.workstream}/${dep}`), `${ref} after ${dep}`).toBe(true);
          expect(failing.has(`${t.workstream}/${dep}`), `${ref} waits for ${dep}, which fails`).toBe(false);
        }
        filed.add(ref);
      }
    }
    for (const topic of Object.keys(KNOWLEDGE)) checkTopic(topic);
  });

  it('agents have distinct names, and each looks at its own workstreams first', () => {
    const agents = demoAgents(MAX_AGENTS);
    expect(new Set(agents.map((a) => a.id)).size).toBe(MAX_AGENTS);
    agents.forEach((a) => checkName('agent', a.id));
    expect(demoAgents(3).map((a) => [a.id, preferredWorkstreams(a)[0]])).toEqual([
      ['agent-ada', 'api'],
      ['agent-grace', 'docs'],
      ['agent-linus', 'ops'],
    ]);
    for (const a of agents) expect([...preferredWorkstreams(a)].sort()).toEqual(WORKSTREAMS.map((w) => w.name).sort());
  });

  it('edits are in the syntax of the file they go to', () => {
    const t = { workstream: 'api', id: 'list-todos-r3', title: 'GET /todos', description: 'List "them".' };
    expect(edit('src/routes.ts', t, 'agent-ada')).toContain('export function listTodos(): string {\n  return "List \\"them\\".";');
    expect(edit('docs/api.md', t, 'agent-ada')).toContain('## GET /todos');
    expect(edit('Dockerfile', t, 'agent-ada')).toMatch(/^\n# GET \/todos/);
  });
});
