/**
 * A value as one shell word, for commands meant to be pasted: left as it is
 * when it holds only characters no shell treats specially, else in single
 * quotes (a quote inside as '\''). Line breaks become spaces first, so a
 * value cannot end the command.
 */
export function shellQuote(v: unknown): string {
  const s = String(v ?? '').replace(/[\r\n]+/g, ' ');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
