// Small fetch wrapper: never throws; returns {ok, status, body} and reports network errors.
// Every call carries the signed-in credential (auth.js); a 401 means "sign in (again)".
export const errors = [];
let errorSink = () => {};
export function onError(fn) { errorSink = fn; }
let unauthorizedSink = () => {};
export function onUnauthorized(fn) { unauthorizedSink = fn; }

let credential = '';
export function setCredential(value) { credential = value || ''; }
export function getCredential() { return credential; }

export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (credential) init.headers.Authorization = `Bearer ${credential}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  try {
    const res = await fetch(path, init);
    const text = await res.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (res.status === 401) unauthorizedSink();
    return { ok: res.ok, status: res.status, body: parsed };
  } catch (e) {
    const message = `${method} ${path}: ${e.message || e}`;
    errorSink(message);
    return { ok: false, status: 0, body: { error: { code: 'network', message } } };
  }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export function moduleOf(frame) {
  const s = (frame.source || frame.module || '').toLowerCase();
  for (const m of ['orders', 'payments', 'inventory', 'notifications']) if (s.includes(m)) return m;
  const t = (frame.eventType || '').toUpperCase();
  if (t.startsWith('ORDER')) return 'orders';
  if (t.startsWith('PAYMENT')) return 'payments';
  if (t.startsWith('INVENTORY') || t.startsWith('STOCK')) return 'inventory';
  if (t.startsWith('NOTIFICATION') || t.startsWith('EMAIL')) return 'notifications';
  return 'other';
}

export function shortTime(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return isNaN(d) ? String(ts) : d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
