import { fs, path } from '../node.js';
import { OrcError } from '../errors.js';

/** Where a repository's parts live. Refs and objects are always under `commonDir`. */
export interface RepoPaths {
  /** The git dir of the worktree we were started in (for a linked worktree: `.git/worktrees/<name>`). */
  gitDir: string;
  /** The shared git dir holding refs, objects and config. */
  commonDir: string;
  /** The worktree root, or null for a bare repository. */
  workTree: string | null;
}

function isGitDir(dir: string): boolean {
  try {
    return (
      fs.statSync(path.join(dir, 'HEAD')).isFile() &&
      fs.statSync(path.join(dir, 'objects')).isDirectory() &&
      fs.statSync(path.join(dir, 'refs')).isDirectory()
    );
  } catch {
    return false;
  }
}

function readGitFile(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  return m?.[1] ? path.resolve(path.dirname(file), m[1]) : null;
}

function commonDirOf(gitDir: string): string {
  try {
    const rel = fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim();
    return path.resolve(gitDir, rel);
  } catch {
    return gitDir;
  }
}

/**
 * Finds the repository containing `start` the way git does: walk up looking
 * for `.git` (a folder, or a file pointing at a linked worktree's git dir), or
 * a bare repository. Honours GIT_DIR and GIT_COMMON_DIR (set inside git hooks).
 * Throws ENV when there is none.
 */
export function discoverRepo(start: string, env: NodeJS.ProcessEnv = process.env): RepoPaths {
  if (env.GIT_DIR) {
    const gitDir = path.resolve(env.GIT_DIR);
    if (!fs.existsSync(gitDir)) throw notARepo(gitDir);
    const commonDir = env.GIT_COMMON_DIR ? path.resolve(env.GIT_COMMON_DIR) : commonDirOf(gitDir);
    const workTree = env.GIT_WORK_TREE ? path.resolve(env.GIT_WORK_TREE) : path.basename(gitDir) === '.git' ? path.dirname(gitDir) : null;
    return { gitDir, commonDir, workTree };
  }
  let dir = path.resolve(start);
  if (!fs.existsSync(dir)) {
    throw new OrcError('ENV', `repository path does not exist: ${dir}; pass --repo with an existing git repository`, { path: dir });
  }
  for (;;) {
    const dotGit = path.join(dir, '.git');
    let st: import('node:fs').Stats | undefined;
    try {
      st = fs.statSync(dotGit);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory() && isGitDir(dotGit)) {
      return { gitDir: dotGit, commonDir: commonDirOf(dotGit), workTree: dir };
    }
    if (st?.isFile()) {
      const gitDir = readGitFile(dotGit);
      if (gitDir && fs.existsSync(gitDir)) return { gitDir, commonDir: commonDirOf(gitDir), workTree: dir };
    }
    if (isGitDir(dir)) return { gitDir: dir, commonDir: commonDirOf(dir), workTree: null };
    const parent = path.dirname(dir);
    if (parent === dir) throw notARepo(path.resolve(start));
    dir = parent;
  }
}

function notARepo(where: string): OrcError {
  return new OrcError(
    'ENV',
    `not a git repository (or any parent): ${where}; run orc inside a git repo, run \`git init\`, or pass --repo PATH / set ORC_REPO`,
    { path: where, not_a_repo: true },
  );
}
