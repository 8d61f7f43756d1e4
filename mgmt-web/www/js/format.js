// Number and DOM helpers.  Text from the server only ever goes into the
// page through textContent / attributes, never as HTML.

const num = new Intl.NumberFormat('en-US');

export function fmtInt(v) {
  return typeof v === 'number' && Number.isFinite(v) ? num.format(v) : '–';
}

// fmtBytes(1536) -> "1.5 KiB"
export function fmtBytes(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return (i === 0 ? String(Math.round(x)) : x.toFixed(x < 10 ? 2 : 1)) + ' ' + u[i];
}

// fmtBits(12_500_000) -> "12.5 Mbit/s" (SI, as links are rated)
export function fmtBits(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  const u = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < u.length - 1) {
    x /= 1000;
    i++;
  }
  return (x >= 100 || i === 0 ? x.toFixed(0) : x.toFixed(1)) + ' ' + u[i];
}

export function fmtMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return ms + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
  const h = Math.floor(m / 60);
  if (h < 48) return h + ' h ' + (m % 60) + ' min';
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}

export function fmtDuration(seconds) {
  return typeof seconds === 'number' ? fmtMs(Math.round(seconds * 1000)) : '–';
}

export const $ = (id) => document.getElementById(id);

// el('td', {class: 'num', dataset: {field: 'flows'}}, 'text' | Node, ...)
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function badge(text, cls) {
  return el('span', { class: 'badge ' + (cls || String(text).toLowerCase()) }, text);
}

export function setText(id, text) {
  const e = $(id);
  if (e && e.textContent !== text) e.textContent = text;
}
