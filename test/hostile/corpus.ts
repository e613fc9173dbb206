/**
 * The hostile-input corpus: names and values that have broken tools like
 * orc, run against every surface by corpus.test.ts and reused by the other
 * hostile tests.
 */

/** Path components git fsck --strict (hasDotgit, gitmodules checks) or a Windows checkout refuses. */
export const FSCK_NAMES = ['.git', '.GIT', '.Git', '.git.', '.git ', '.git...', 'git~1', 'GIT~1', 'git~9', '.gitmodules', '.GITMODULES', '.gitmodules.', 'gitmod~1', 'GITMOD~4', 'gi7eba~1', '\u200c.git', '.g\u200dit', '.git\ufeff', '.gi\u200et', '\u206a.gitmodules', '.git::$INDEX_ALLOCATION'];
export const WINDOWS_NAMES = ['CON', 'con', 'Con.txt', 'NUL', 'nul.json', 'AUX', 'PRN', 'prn.md', 'COM1', 'com9.log', 'LPT1', 'lpt9', 'CON .txt', 'name.', 'name ', 'trail...'];

