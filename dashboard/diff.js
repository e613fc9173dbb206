// Line diff of a file an op changed: common head and tail first (an event
// segment grows by appended lines, a task file changes a few fields), then
// a longest-common-subsequence table over what is left, when it is small.

const MAX_CELLS = 4_000_000;

/** [{op: ' '|'-'|'+', text, a, b}] where a/b are 1-based line numbers (or null). */
export function lineDiff(oldText, newText) {
  const a = oldText === null || oldText === undefined ? [] : splitLines(oldText);
  const b = newText === null || newText === undefined ? [] : splitLines(newText);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out = [];
  for (let i = 0; i < head; i++) out.push({ op: ' ', text: a[i], a: i + 1, b: i + 1 });
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  for (const d of middle(am, bm)) out.push({ ...d, a: d.a === null ? null : d.a + head + 1, b: d.b === null ? null : d.b + head + 1 });
  for (let i = tail; i > 0; i--) out.push({ op: ' ', text: a[a.length - i], a: a.length - i + 1, b: b.length - i + 1 });
  return out;
}

function splitLines(s) {
  const lines = String(s).split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function middle(a, b) {
  const n = a.length;
  const m = b.length;
  if (!n) return b.map((text, j) => ({ op: '+', text, a: null, b: j }));
  if (!m) return a.map((text, i) => ({ op: '-', text, a: i, b: null }));
  if (n * m > MAX_CELLS) return [...a.map((text, i) => ({ op: '-', text, a: i, b: null })), ...b.map((text, j) => ({ op: '+', text, a: null, b: j }))];
  // lcs[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i], a: i, b: j });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
      out.push({ op: '-', text: a[i], a: i, b: null });
      i++;
    } else {
      out.push({ op: '+', text: b[j], a: null, b: j });
      j++;
    }
  }
  while (i < n) out.push({ op: '-', text: a[i], a: i++, b: null });
  while (j < m) out.push({ op: '+', text: b[j], a: null, b: j++ });
  return out;
}

/**
 * Hunks with `context` unchanged lines around each change; long unchanged
 * runs become {skip: n}.
 */
export function hunks(lines, context = 3) {
  const keep = new Uint8Array(lines.length);
  lines.forEach((l, i) => {
    if (l.op === ' ') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = 1;
  });
  const out = [];
  let skipped = 0;
  lines.forEach((l, i) => {
    if (keep[i]) {
      if (skipped) out.push({ skip: skipped });
      skipped = 0;
      out.push(l);
    } else skipped++;
  });
  if (skipped) out.push({ skip: skipped });
  return out;
}
