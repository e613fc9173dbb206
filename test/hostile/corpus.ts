/**
 * The hostile-input corpus: names and values that have broken tools like
 * orc, run against every surface by corpus.test.ts and reused by the other
 * hostile tests.
 */

/** Path components git fsck --strict (hasDotgit, gitmodules checks) or a Windows checkout refuses. */
export const FSCK_NAMES = ['.git', '.GIT', '.Git', '.git.', '.git ', '.git...', 'git~1', 'GIT~1', 'git~9', '.gitmodules', '.GITMODULES', '.gitmodules.', 'gitmod~1', 'GITMOD~4', 'gi7eba~1', '\u200c.git', '.g\u200dit', '.git\ufeff', '.gi\u200et', '\u206a.gitmodules', '.git::$INDEX_ALLOCATION'];
export const WINDOWS_NAMES = ['CON', 'con', 'Con.txt', 'NUL', 'nul.json', 'AUX', 'PRN', 'prn.md', 'COM1', 'com9.log', 'LPT1', 'lpt9', 'CON .txt', 'name.', 'name ', 'trail...'];


const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i));

/** Control characters: every C0, DEL and every C1, each inside a name. */
export const CONTROLS = [...range(0x00, 0x1f), '\u007f', ...range(0x80, 0x9f)].map((c) => `a${c}b`);
/** Bidirectional overrides, embeddings, isolates and marks. */
export const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'].map((c) => `abc${c}def`);
/** Zero-width and other invisible format characters. */
export const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u180e'].map((c) => `in${c}visible`);
/** Characters that look like '.', '/' or '..'. */
export const LOOKALIKES = ['a\u2024b', '\u2024\u2024', '\u2025', 'x\uff0e\uff0e', '\u3002', 'a\u2215b', 'a\u2044b', 'a\uff0fb', 'a\u29f8b', '\u0701x'];
export const LENGTHS = [199, 200, 201, 10_000].map((n) => 'a'.repeat(n));
export const PATHS = ['', ' ', '  ', '\t', '.', '..', '...', '/', '//', 'a/', '/a', 'a//b', 'a/./b', 'a/../b', '../x', 'x/..', 'a\\b', '..\\x', '~', '~/x', '-', '-rf', '--help', '@', '+', 'a b', ' a', 'a ', '.hidden', 'x.md', 'x.json', 'x.lock', 'HEAD', 'refs/heads/x', 'knowledge', 'orc.json'];
export const SHELL = [';', 'a;b', '$(touch x)', '`id`', 'a|b', 'a&b', 'a&&b', 'a>b', 'a<b', '*', 'a?b', '[ab]', "it's", 'say "hi"', '$IFS', '${IFS}', 'a!b', '#x', '{a,b}', 'a\\nb', "x';touch${IFS}y;'"];
export const UNICODE = ['émigré', '日本語', '🙂', 'e\u0301', 'Ω', 'İ', 'ß', 'ﬁ', '\ud800', 'a\udc00b', '🙂'.repeat(60), 'Ａ'];

/** Every name-like value, deduplicated. */
export const NAMES: string[] = [...new Set([...FSCK_NAMES, ...WINDOWS_NAMES, ...CONTROLS, ...BIDI, ...INVISIBLE, ...LOOKALIKES, ...LENGTHS, ...PATHS, ...SHELL, ...UNICODE, 'ok-name', 'a.b_c@d+e-f'])];

/** Numbers and number-like values for priorities, estimates, leases and TTLs. */
export const NUMBERS: unknown[] = [0, -1, 1, 5, 100, 101, 1.5, -0, 1e308, -1e308, Infinity, -Infinity, NaN, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, '5', ' 5 ', '05', '0x10', '1e3', '5abc', '', '99999999999999999999', '-1', true, false, [], {}, [5]];
