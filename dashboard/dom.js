// DOM building without HTML strings. Every value reaches the page through
// textContent / append(string) or setAttribute, never innerHTML, so a task
// titled `<img src=x onerror=alert(1)>` is shown as those characters. The
// server's Content-Security-Policy (no inline script) is the second wall.

/**
 * h('a', {href: '#/kb', class: 'x', onclick: fn}, 'text', child, [more])
 * Props: class, dataset, on<event> (functions only), value/checked/disabled
 * (as properties), anything else as an attribute. Children: nodes, strings,
 * numbers, arrays; null/undefined/false are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
      else if (k.startsWith('on')) {
        if (typeof v !== 'function') throw new TypeError(`${k} must be a function`);
        el.addEventListener(k.slice(2), v);
      } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
      else if (k === 'href') el.setAttribute('href', safeHref(v));
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** Links stay inside the page (#/…) or same-origin paths; anything else becomes '#'. */
function safeHref(v) {
  const s = String(v);
  return s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//')) ? s : '#';
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);

// ------------------------------------------------------------------ time

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 3h 12m, 4m 05s, 12s: two units at most. */
export function span(ms) {
  ms = Math.max(0, Math.round(ms));
  if (ms < 1000) return `${ms}ms`;
  for (let i = 0; i < UNITS.length; i++) {
    const [u, size] = UNITS[i];
    if (ms >= size) {
      const n = Math.floor(ms / size);
      const next = UNITS[i + 1];
      if (!next || n >= 10) return `${n}${u}`;
      const r = Math.floor((ms % size) / next[1]);
      return r ? `${n}${u} ${String(r).padStart(next[0] === 's' || next[0] === 'm' ? 2 : 1, '0')}${next[0]}` : `${n}${u}`;
    }
  }
  return `${ms}ms`;
}

/** "12s ago", "in 3m": relative to now. */
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const d = now - t;
  if (Math.abs(d) < 1500) return 'just now';
  return d > 0 ? `${span(d)} ago` : `in ${span(-d)}`;
}

/** Local date and time, for tooltips and detail views. */
export function when(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : '';
}

/** An element whose text counts down to (or up from) a time, kept current by tick(). */
export function clock(kind, iso, extra = {}) {
  return h('time', { class: ['clock', extra.class], datetime: iso, title: when(iso), dataset: { clock: kind, at: iso } }, clockText(kind, iso));
}

function clockText(kind, iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  if (kind === 'countdown') return t > now ? span(t - now) : 'expired';
  return ago(iso, now);
}

/** Updates every clock in the page (once a second; no request to the server). */
export function tick(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('[data-clock]')) {
    const text = clockText(el.dataset.clock, el.dataset.at, now);
    if (el.textContent !== text) el.textContent = text;
    if (el.dataset.clock === 'countdown') el.classList.toggle('expired', Date.parse(el.dataset.at) <= now);
  }
}

export const short = (oid) => (oid ? String(oid).slice(0, 10) : '');

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
