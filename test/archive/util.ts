/**
 * An archived state built by hand (no compaction op): git plumbing moves task
 * files from workstreams/<ws>/tasks/<shard>/ to archive/workstreams/<ws>/tasks/<shard>/,
 * same blob, in one commit on the state branch, by compare-and-swap on the ref.
 */
import * as path from 'node:path';
import { archiveTaskFile, taskFile } from '../../src/model/layout.js';
import { tmpDir } from '../helpers.js';
import { REF, gitEnv, tip } from '../cli/util.js';

export function archiveByHand(repo: string, tasks: { ws: string; id: string }[]): string {
  const old = tip(repo);
  if (!old) throw new Error('no state branch to archive on');
  const env = { GIT_INDEX_FILE: path.join(tmpDir('orc-index-'), 'index') };
  gitEnv(repo, env, ['read-tree', old]);
  for (const t of tasks) {
    const from = taskFile(t.ws, t.id);
    const oid = gitEnv(repo, env, ['rev-parse', `${old}:${from}`]);
    gitEnv(repo, env, ['update-index', '--force-remove', from]);
    gitEnv(repo, env, ['update-index', '--add', '--cacheinfo', `100644,${oid},${archiveTaskFile(t.ws, t.id)}`]);
  }
  const tree = gitEnv(repo, env, ['write-tree']);
  const commit = gitEnv(repo, env, ['commit-tree', tree, '-p', old, '-m', `archive ${tasks.length} tasks by hand`]);
  gitEnv(repo, env, ['update-ref', REF, commit, old]);
  return commit;
}
