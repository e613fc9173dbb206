// Builds a big state branch in one go: every task file, event segment, agent,
// lock and knowledge topic is written as git objects by the project's own
// store (one tree, one commit), then refs/heads/orc is pointed at it. The
// layout is exactly the one the library writes (src/model/layout.ts).
import * as crypto from 'node:crypto';
import { open } from '../dist/index.js';
import { agentFile, eventDayDir, knowledgeFile, lockFile, taskFile, wsFile, ORC_JSON } from '../dist/model/layout.js';
import { DEFAULT_SETTINGS, FORMAT_VERSION } from '../dist/model/types.js';
import { SEGMENT_MAX_LINES, SEGMENT_MAX_BYTES } from '../dist/model/events.js';
import { git } from './lib.mjs';

const DAY = 86_400_000;
const json = (v) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');
const iso = (ms) => new Date(ms).toISOString();

/** A deterministic PRNG (mulberry32), so every run builds the same shape. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickWeighted(rand, entries) {
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [v, w] of entries) if ((r -= w) < 0) return v;
  return entries[entries.length - 1][0];
}

const WORDS = 'parse config cache retry index shard worker queue token schema route handler migration test flaky build deploy docs lint refactor endpoint timeout memory leak upload auth session'.split(' ');
const sentence = (rand, n) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');

/**
 * Writes the big branch into `repo` and returns what it holds.
 * workstreams: [[name, taskCount], ...]
 */
export async function buildBigBranch(repo, { workstreams, events: eventCount, days = 30, agents: agentCount = 16, now = Date.now() }) {
  const rand = prng(20240531);
  const orc = await open({ repo, agent: 'bench' });
  const store = orc.store;
  const ownWriter = store.writerId();
  const start = now - days * DAY;
  const changes = new Map();

  changes.set(ORC_JSON, json({ format: FORMAT_VERSION, created_at: iso(start - DAY), settings: DEFAULT_SETTINGS }));

  const agentIds = Array.from({ length: agentCount }, (_, i) => `a${i + 1}`);
  for (const id of agentIds) {
    const beat = now - Math.floor(rand() * 20 * 60_000); // some fresh, some stale
    changes.set(agentFile(id), json({ id, type: 'worker', capabilities: ['code', 'test'], status: 'active', registered_at: iso(start + rand() * DAY), last_heartbeat: iso(beat) }));
  }

  const tasksByWs = new Map();
  const counts = { pending: 0, in_progress: 0, done: 0, failed: 0, total: 0 };
  const allIds = new Set();
  let wsPrio = 1;
  for (const [ws, n] of workstreams) {
    changes.set(wsFile(ws), json({ name: ws, description: `the ${ws} workstream`, priority: wsPrio, status: 'active', created_at: iso(start - DAY), updated_at: iso(start - DAY) }));
    wsPrio++;
    const list = [];
    for (let i = 0; i < n; i++) {
      const created = Math.floor(start + rand() * (now - start - 60_000));
      let id;
      do id = created.toString(36) + crypto.randomBytes(2).toString('hex');
      while (allIds.has(id));
      allIds.add(id);
      // Older tasks are more likely finished; recent ones more likely pending or in progress.
      const age = (now - created) / (now - start);
      const status = pickWeighted(rand, [
        ['done', 20 + 75 * age],
        ['failed', 2 + 4 * age],
        ['in_progress', 4 * (1 - age) + 0.5],
        ['pending', 55 * (1 - age) + 4],
      ]);
      const agent = status === 'pending' ? null : agentIds[Math.floor(rand() * agentIds.length)];
      const claimed = status === 'pending' ? null : Math.min(now - 1000, created + Math.floor(rand() * 6 * 3600_000));
      const finished = status === 'done' || status === 'failed' ? Math.min(now - 500, claimed + Math.floor(rand() * 4 * 3600_000)) : null;
      const task = {
        id,
        workstream: ws,
        title: `${sentence(rand, 3 + Math.floor(rand() * 5))}`,
        description: sentence(rand, 10 + Math.floor(rand() * 30)),
        status,
        priority: 1 + Math.floor(rand() * 5),
        estimate: rand() < 0.5 ? null : 1 + Math.floor(rand() * 8),
        assigned_to: agent,
        created_at: iso(created),
        updated_at: iso(finished ?? claimed ?? created),
        result: status === 'done' ? `done: ${sentence(rand, 6)}` : status === 'failed' ? `failed: ${sentence(rand, 4)}` : null,
        created_by: rand() < 0.3 ? 'system' : agentIds[Math.floor(rand() * agentIds.length)],
        claimed_at: claimed === null ? null : iso(claimed),
        lease_ms: claimed === null ? null : DEFAULT_SETTINGS.lease_ms,
        completed_at: finished === null ? null : iso(finished),
        resources: rand() < 0.3 ? [`src/${WORDS[Math.floor(rand() * WORDS.length)]}/**`] : [],
        after: [],
        kb: rand() < 0.2 ? [`notes/${WORDS[Math.floor(rand() * WORDS.length)]}`] : [],
      };
      changes.set(taskFile(ws, id), json(task));
      list.push(task);
      counts[status]++;
      counts.total++;
    }
    tasksByWs.set(ws, list);
  }

  const resources = ['git', 'deploy', 'db-migrate', 'src/api/**', 'docs/**', 'release'];
  resources.forEach((resource, i) => {
    const acquired = now - Math.floor(rand() * 3600_000);
    const released = i % 2 === 0 ? iso(acquired + 5_000) : null;
    changes.set(lockFile(resource), json({ resource, agent: agentIds[i % agentIds.length], acquired_at: iso(acquired), ttl_ms: 60_000, expires_at: iso(acquired + 60_000), token: 10 + Math.floor(rand() * 500), released_at: released }));
  });

  const topics = [];
  for (let i = 0; i < 40; i++) {
    const topic = i < 10 ? `arch-${i}` : `notes/${WORDS[i % WORDS.length]}-${i}`;
    topics.push(topic);
    changes.set(knowledgeFile(topic), Buffer.from(`# ${topic}\n\n${sentence(rand, 80 + Math.floor(rand() * 200))}\n`, 'utf8'));
  }

  // Events: spread over the days, several writers (this repo's own id writes most), ≤ 500 lines per segment.
  const writers = [ownWriter, 'b7e2c09a41', '3f9d0e6c58', 'c41a7b2e90'];
  const writerWeights = [[0, 55], [1, 15], [2, 15], [3, 15]];
  const allTasks = [...tasksByWs.values()].flat();
  const times = Array.from({ length: eventCount }, () => Math.floor(start + rand() * (now - start - 1000)));
  times.sort((a, b) => a - b);
  const buckets = new Map(); // "<day dir>|<writer index>" -> lines
  const actions = [
    ['agent_heartbeat', 40],
    ['task_created', 14],
    ['task_claimed', 13],
    ['task_completed', 11],
    ['task_failed', 1],
    ['task_taken_over', 1],
    ['lock_acquired', 7],
    ['lock_released', 7],
    ['knowledge_written', 4],
    ['deploy_started', 2],
  ];
  for (const t of times) {
    const ts = iso(t);
    const action = pickWeighted(rand, actions);
    const agent = rand() < 0.05 ? 'system' : agentIds[Math.floor(rand() * agentIds.length)];
    const task = allTasks[Math.floor(rand() * allTasks.length)];
    let ev;
    switch (action) {
      case 'agent_heartbeat':
        ev = { ts, agent, action, agent_id: agent };
        break;
      case 'task_created':
        ev = { ts, agent, action, workstream: task.workstream, task_id: task.id, title: task.title, priority: task.priority };
        break;
      case 'task_claimed':
        ev = { ts, agent, action, workstream: task.workstream, task_id: task.id, title: task.title, lease_ms: 600000 };
        break;
      case 'task_taken_over':
        ev = { ts, agent, action, workstream: task.workstream, task_id: task.id, title: task.title, lease_ms: 600000, previous_agent: agentIds[0] };
        break;
      case 'task_completed':
      case 'task_failed':
        ev = { ts, agent, action, workstream: task.workstream, task_id: task.id, title: task.title, result: task.result ?? 'ok' };
        break;
      case 'lock_acquired': {
        const resource = resources[Math.floor(rand() * resources.length)];
        ev = { ts, agent, action, resource, token: 1 + Math.floor(rand() * 500), ttl_ms: 60000, expires_at: iso(t + 60000) };
        break;
      }
      case 'lock_released':
        ev = { ts, agent, action, resource: resources[Math.floor(rand() * resources.length)], token: 1 + Math.floor(rand() * 500) };
        break;
      case 'knowledge_written':
        ev = { ts, agent, action, topic: topics[Math.floor(rand() * topics.length)], bytes: 200 + Math.floor(rand() * 3000) };
        break;
      default:
        ev = { ts, agent, action, env: 'staging', version: `1.${Math.floor(rand() * 40)}.0` };
    }
    const key = `${eventDayDir(ts)}|${pickWeighted(rand, writerWeights)}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = []));
    b.push(`${JSON.stringify(ev)}\n`);
  }
  let segments = 0;
  let maxLines = 0;
  let maxBytes = 0;
  const daysSeen = new Set();
  for (const [key, lines] of buckets) {
    const [day, w] = key.split('|');
    daysSeen.add(day);
    let seq = 0;
    for (let i = 0; i < lines.length; ) {
      // Fill a segment up to the library's own limits (lines and bytes).
      let bytes = 0;
      let j = i;
      while (j < lines.length && j - i < SEGMENT_MAX_LINES && bytes + Buffer.byteLength(lines[j]) <= SEGMENT_MAX_BYTES) bytes += Buffer.byteLength(lines[j++]);
      seq++;
      changes.set(`${day}/${writers[Number(w)]}-${String(seq).padStart(5, '0')}.jsonl`, Buffer.from(lines.slice(i, j).join(''), 'utf8'));
      segments++;
      maxLines = Math.max(maxLines, j - i);
      maxBytes = Math.max(maxBytes, bytes);
      i = j;
    }
  }

  const time = Math.floor(now / 1000);
  const ident = { name: 'bench', email: 'bench@orc.invalid', time, tz: '+0000' };
  const commit = store.writeCommit(null, changes, [], ident, `bench: bulk state (${counts.total} tasks, ${eventCount} events)\n`);
  git(repo, 'update-ref', 'refs/heads/orc', commit);

  return {
    commit,
    files: changes.size,
    counts,
    tasksByWs,
    agents: agentIds,
    writers,
    segments,
    days: daysSeen.size,
    maxSegmentLines: maxLines,
    maxSegmentBytes: maxBytes,
  };
}
