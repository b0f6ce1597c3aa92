// Test panel, scenarios, timeline, stats/health and dead letters.
import { api, el, moduleOf, shortTime, sleep } from './api.js';
import { can } from './policy.js';
import { renderSwimlane } from './swimlane.js';

// customerId: whom the test panel's orders are for (a signed-in customer may order only for itself).
export const state = { productId: '', orderId: '', paymentId: '', customerId: 'customer-1' };
// Set by app.js: opens an order's timeline (from a dead letter's row).
export const hooks = { showOrder: () => {} };

function responseView(target, res, label) {
  target.hidden = false;
  target.className = `response ${res.ok ? 'ok' : 'err'}`;
  target.textContent = `${label} → ${res.status || 'network error'}\n` + (typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2));
}

function remember(res) {
  const b = res && res.body;
  if (!res.ok || !b || typeof b !== 'object') return;
  if (b.productId && b.sku !== undefined) state.productId = b.productId;
  if (b.orderId && b.customerId !== undefined) state.orderId = b.orderId;
  if (b.paymentId) state.paymentId = b.paymentId;
}

// The saga creates the order's payment: look it up so "Update payment status" is ready to use.
async function learnPayment(orderId, refresh) {
  for (let i = 0; i < 10 && orderId; i += 1) {
    const res = await api('GET', `/api/payments?orderId=${encodeURIComponent(orderId)}`);
    const p = res.ok && res.body && res.body.data && res.body.data[0];
    if (p) { state.paymentId = p.paymentId; refresh(); return; }
    await sleep(200);
  }
}

const uid = () => Math.random().toString(36).slice(2, 8);

// route: the action's pattern in the role table (policy.js); a role that may not call it does not
// see the action.
export const ACTIONS = [
  { id: 'create-product', route: '/api/inventory/products', title: 'Create sample product', method: 'POST', path: () => '/api/inventory/products',
    body: () => ({ name: `Sample widget ${uid()}`, sku: `SKU-${uid()}`, price: 49.9, stock: 100, minStock: 5, category: 'demo', description: 'created from the dashboard' }) },
  { id: 'create-order', route: '/api/orders', title: 'Create order', method: 'POST', path: () => '/api/orders',
    body: () => ({ customerId: state.customerId, items: [{ productId: state.productId || 'create a product first', quantity: 1 }], paymentMethod: 'credit_card', paymentDetails: { cardNumber: '4242424242424242' } }) },
  { id: 'update-order-status', route: '/api/orders/:id/status', title: 'Update order status', method: 'PUT', path: () => `/api/orders/${state.orderId || ':id'}/status`,
    body: () => ({ status: 'shipped', reason: 'dispatched from the dashboard' }) },
  { id: 'process-payment', route: '/api/payments/process', title: 'Process payment', method: 'POST', path: () => '/api/payments/process',
    body: () => ({ orderId: state.orderId || 'create an order first', method: 'credit_card', paymentDetails: { cardNumber: '4242424242424242' } }) },
  { id: 'update-payment-status', route: '/api/payments/:id/status', title: 'Update payment status', method: 'PUT', path: () => `/api/payments/${state.paymentId || ':id'}/status`,
    body: () => ({ status: 'succeeded', reason: 'bank confirmation' }) },
  { id: 'add-stock', route: '/api/inventory/stock/add', title: 'Add stock', method: 'POST', path: () => '/api/inventory/stock/add',
    body: () => ({ productId: state.productId || 'create a product first', quantity: 10, reason: 'restock' }) },
  { id: 'reserve-stock', route: '/api/inventory/stock/reserve', title: 'Reserve stock', method: 'POST', path: () => '/api/inventory/stock/reserve',
    body: () => ({ productId: state.productId || 'create a product first', quantity: 1 }) },
  { id: 'send-email', route: '/api/notifications/email', title: 'Send email', method: 'POST', path: () => '/api/notifications/email',
    body: () => ({ to: 'customer@example.com', subject: 'Hello from shopflow', content: 'A test email from the dashboard.' }) },
  { id: 'send-push', route: '/api/notifications/push', title: 'Send push', method: 'POST', path: () => '/api/notifications/push',
    body: () => ({ to: 'device-token-1', title: 'shopflow', body: 'A test push notification', data: { source: 'dashboard' } }) },
];

export function renderTestPanel(container) {
  const cards = [];
  const refresh = () => {
    for (const c of cards) {
      if (!c.path.dataset.dirty) c.path.value = c.action.path();
      if (!c.body.dataset.dirty) c.body.value = JSON.stringify(c.action.body(), null, 2);
    }
  };
  for (const action of ACTIONS) {
    const pathInput = el('input', { id: `path-${action.id}`, value: action.path(), 'aria-label': `${action.title} path`, oninput: (e) => { e.target.dataset.dirty = '1'; } });
    const body = el('textarea', { id: `body-${action.id}`, rows: 7, spellcheck: 'false', 'aria-label': `${action.title} JSON body`, oninput: (e) => { e.target.dataset.dirty = '1'; } });
    body.value = JSON.stringify(action.body(), null, 2);
    const out = el('pre', { class: 'response', hidden: true, 'aria-live': 'polite', id: `resp-${action.id}` });
    const send = async () => {
      let text = body.value;
      try { JSON.parse(text); } catch (e) { responseView(out, { ok: false, status: 'invalid JSON', body: String(e.message) }, action.title); return; }
      const res = await api(action.method, pathInput.value, text);
      responseView(out, res, `${action.method} ${pathInput.value}`);
      remember(res);
      if (res.ok) { body.dataset.dirty = ''; refresh(); }
      if (res.ok && action.id === 'create-order') await learnPayment(res.body.orderId, refresh);
    };
    body.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); } });
    const reset = () => { pathInput.dataset.dirty = ''; body.dataset.dirty = ''; refresh(); };
    cards.push({ action, path: pathInput, body });
    container.append(el('article', { class: 'action', 'aria-labelledby': `h-${action.id}`, dataset: { needs: `${action.method} ${action.route}` } },
      el('h3', { id: `h-${action.id}` }, el('span', { class: `method m-${action.method}`, text: action.method }), ' ', action.title),
      pathInput, body,
      el('div', { class: 'row' },
        el('button', { type: 'button', id: `send-${action.id}`, onclick: send, text: `Send: ${action.title}` }),
        el('button', { type: 'button', class: 'secondary', onclick: reset, text: 'Reset body', 'aria-label': `Reset ${action.title} body` })),
      out));
  }
  return refresh;
}

// A customer orders for itself from the catalog (it may not create products): its id and the
// first product fill the test panel's bodies.
export async function prepareForCustomer(customerId, refresh) {
  state.customerId = customerId;
  const res = await api('GET', '/api/inventory/products?limit=1');
  const p = res.ok && res.body && (res.body.data || [])[0];
  if (p && !state.productId) state.productId = p.productId;
  refresh();
}

// ---------- timeline ----------
export async function loadTimeline(orderId, container, options = {}) {
  // Only the latest of overlapping loads into one container renders (a live refresh of the
  // previous order must not overwrite the order just asked for).
  const token = String((Number(container.dataset.token) || 0) + 1);
  container.dataset.token = token;
  const [order, timeline] = await Promise.all([api('GET', `/api/orders/${encodeURIComponent(orderId)}`), api('GET', `/api/orders/${encodeURIComponent(orderId)}/timeline`)]);
  if (container.dataset.token === token) renderTimeline(container, orderId, order, timeline, options);
  return { order: order.body, timeline: timeline.body, ok: order.ok && timeline.ok };
}

export function renderTimeline(container, orderId, order, timeline, { focusMessageId = '' } = {}) {
  // A re-render of the same order (live refresh) keeps the swim-lane where the reader scrolled it.
  const old = container.dataset.orderId === orderId && container.querySelector('.swimlane-wrap');
  const scrollLeft = old ? old.scrollLeft : 0;
  container.dataset.orderId = orderId;
  container.replaceChildren();
  if (!order.ok && !timeline.ok) {
    container.append(el('p', { class: 'err', text: `Order ${orderId}: ${order.body && order.body.error ? order.body.error.message : order.status}` }));
    return;
  }
  const o = order.body || {};
  const t = timeline.body || { events: [] };
  container.append(el('div', { class: 'timeline-head' },
    el('strong', { text: `Order ${orderId}` }), ' ',
    el('span', { class: `status order-${o.status}`, 'data-testid': 'order-status', text: o.status || '?' }),
    o.failureReason ? el('span', { class: 'reason', text: ` reason: ${o.failureReason}` }) : '',
    el('span', { class: 'muted', text: ` · ${t.settled ? 'settled' : 'in flight…'} · total ${o.totalAmount ?? ''}` })));
  if (timeline.ok) {
    container.append(renderSwimlane(t, o, { focusMessageId, orderId }));
    const wrap = container.querySelector('.swimlane-wrap');
    const focus = focusMessageId && wrap.querySelector('th.focus');
    if (focus) focus.scrollIntoView({ block: 'nearest', inline: 'center' });
    else if (scrollLeft) wrap.scrollLeft = scrollLeft;
  }
  const rows = (t.events || []).map((e) => el('tr', { class: `mod-${moduleOf(e)} st-${e.status}`, dataset: { eventType: e.eventType || '' } },
    el('td', { text: shortTime(e.at) }),
    el('td', { class: 'evt', text: e.eventType }),
    el('td', {}, el('span', { class: `chip mod-${moduleOf(e)}`, text: moduleOf(e), title: e.module ? `handled by ${e.module}` : undefined })),
    el('td', {}, el('span', { class: `status st-${e.status}`, text: e.status || '' })),
    el('td', { text: e.queue || '' }),
    el('td', { text: e.reason || '' })));
  container.append(el('h3', { text: 'Events in causal order' }), el('table', { class: 'flow', 'aria-label': `Timeline of order ${orderId}` },
    el('thead', {}, el('tr', {}, ['time', 'event', 'module', 'status', 'queue', 'reason'].map((h) => el('th', { text: h })))),
    el('tbody', { 'data-testid': 'timeline-events' }, rows)));
}

// The timeline answers 404 until the order's first event is logged (and Chromium logs every
// 404 as a console error): with a correlation id, wait for the event log to show it first.
async function eventsLogged(correlationId) {
  const res = await api('GET', `/api/messages?correlationId=${encodeURIComponent(correlationId)}&limit=1`);
  return res.ok && res.body && Array.isArray(res.body.data) && res.body.data.length > 0;
}

export async function followTimeline(orderId, container, isDone, timeoutMs = 30000, correlationId = '') {
  const deadline = Date.now() + timeoutMs;
  while (correlationId && !(await eventsLogged(correlationId))) {
    container.replaceChildren(el('p', { class: 'muted', text: `Order ${orderId}: waiting for its first event…` }));
    if (Date.now() > deadline) break;
    await sleep(200);
  }
  for (;;) {
    const r = await loadTimeline(orderId, container);
    if (r.ok && isDone(r)) return r;
    if (Date.now() > deadline) return r;
    await sleep(500);
  }
}

// ---------- scenarios ----------
const settled = (r) => r.timeline && r.timeline.settled && r.order && r.order.status !== 'pending';

export async function runScenario(name, log, container) {
  log.replaceChildren();
  const say = (text, cls = '') => log.append(el('li', { class: cls, text }));
  const fail = (what, res) => { say(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`, 'err'); return null; };
  const product = await api('POST', '/api/inventory/products', { name: `Scenario ${name} ${uid()}`, sku: `SCN-${uid()}`, price: 25, stock: name === 'outofstock' ? 1 : 20, minStock: 0, category: 'scenario' });
  if (!product.ok) return fail('create product', product);
  say(`product ${product.body.productId} (stock ${product.body.stock})`);
  const card = name === 'declined' ? '4000000000000002' : '4242424242424242';
  const order = await api('POST', '/api/orders', { customerId: `scenario-${name}`, items: [{ productId: product.body.productId, quantity: name === 'outofstock' ? 5 : 2 }], paymentMethod: 'credit_card', paymentDetails: { cardNumber: card } });
  if (!order.ok) return fail('create order', order);
  const orderId = order.body.orderId;
  say(`order ${orderId} created (card ${card}), following its saga…`);
  let r = await followTimeline(orderId, container, settled, 30000, order.body.metadata && order.body.metadata.correlationId);
  say(`order ${orderId} is ${r.order && r.order.status}`, r.order && r.order.status === 'paid' ? 'ok' : 'warn');
  if (name === 'cancel' && r.order && r.order.status === 'paid') {
    const del = await api('DELETE', `/api/orders/${orderId}`);
    if (!del.ok) return fail('cancel', del);
    say(`cancel requested: compensation (refund, stock release) follows…`);
    r = await followTimeline(orderId, container, (x) => x.timeline && x.timeline.settled && x.order && x.order.status === 'cancelled' && (x.timeline.events || []).some((e) => e.eventType === 'INVENTORY_RELEASED'), 20000);
    say(`order ${orderId} is ${r.order && r.order.status}`, 'ok');
  }
  const compensations = (r.timeline && r.timeline.events || []).filter((e) => /RELEASED|REFUND|CANCELLED|FAILED/.test(e.eventType || ''));
  if (compensations.length) say(`compensation: ${[...new Set(compensations.map((e) => e.eventType))].join(', ')}`, 'warn');
  return r;
}

// ---------- stats & health ----------
let lastEvents = null;
function bars(container, entries, unit = '') {
  const max = Math.max(1, ...entries.map(([, v]) => Number(v) || 0));
  container.replaceChildren(...entries.map(([label, v]) => el('div', { class: 'bar-row' },
    el('span', { class: 'bar-label', text: label, title: label }),
    el('span', { class: 'bar', role: 'img', 'aria-label': `${label}: ${v}${unit}` }, el('span', { class: `fill fill-${label}`, style: `width:${(100 * (Number(v) || 0)) / max}%` })),
    el('span', { class: 'bar-value', text: `${typeof v === 'number' ? Math.round(v * 100) / 100 : v}${unit}` }))));
  if (!entries.length) container.append(el('p', { class: 'muted', text: 'no data yet' }));
}

export function renderStats(doc) {
  if (!doc || typeof doc !== 'object') return;
  const cards = document.getElementById('stats-cards');
  const card = (label, value) => el('div', { class: 'card' }, el('div', { class: 'card-value', text: value ?? '–' }), el('div', { class: 'card-label', text: label }));
  cards.replaceChildren(card('total messages', doc.totalMessages), card('active orders', doc.activeOrders), card('payments', doc.totalPayments),
    card('inventory alerts', doc.inventoryAlerts), card('outbox backlog', doc.outbox && doc.outbox.backlog), card('dead letters', doc.dlq && doc.dlq.size));
  const ev = doc.events || {};
  const now = Date.parse(doc.timestamp) || Date.now();
  const outcomes = ['published', 'consumed', 'failed', 'deadLettered'];
  if (lastEvents && now > lastEvents.at) {
    const dt = (now - lastEvents.at) / 1000;
    bars(document.getElementById('rate-bars'), outcomes.map((k) => [k, Math.max(0, ((ev[k] || 0) - (lastEvents.ev[k] || 0)) / dt)]), '/s');
  } else if (!lastEvents) {
    bars(document.getElementById('rate-bars'), outcomes.map((k) => [k, 0]), '/s');
  }
  lastEvents = { at: now, ev };
  // Main queues always, retry and dead-letter queues only while they hold messages.
  const queues = ((doc.queues && doc.queues.byQueue) || []).filter((q) => (q.messages || 0) > 0 || !/^(retry|dlq)\./.test(q.queue || ''));
  bars(document.getElementById('queue-bars'), queues.map((q) => [q.queue, q.messages ?? 0]));
  const orders = doc.orders || {};
  bars(document.getElementById('order-bars'), Object.entries(orders).filter(([, v]) => typeof v === 'number'));
}

export function renderHealth(doc) {
  if (!doc || typeof doc !== 'object') return;
  const list = document.getElementById('health-list');
  const services = doc.services || {};
  list.replaceChildren(...Object.entries(services).map(([name, v]) => {
    const up = typeof v === 'object' && v !== null ? (v.status ? v.status === 'healthy' || v.status === 'up' : !!v.healthy) : !!v;
    return el('li', { class: up ? 'up' : 'down' }, el('span', { class: 'dot', 'aria-hidden': 'true' }), `${name}: ${up ? 'up' : 'down'}`);
  }));
  const summary = document.getElementById('health-summary');
  summary.textContent = `health: ${doc.status || '?'}`;
  summary.className = `badge ${doc.status === 'healthy' ? 'ok' : doc.status ? 'warn' : ''}`;
}

// ---------- dead letters ----------
export async function loadDlq() {
  const res = await api('GET', '/api/dlq');
  const body = document.getElementById('dlq-body');
  const summary = document.getElementById('dlq-summary');
  body.replaceChildren();
  if (!res.ok) { summary.textContent = `GET /api/dlq → ${res.status}`; return res; }
  const queues = res.body.queues || [];
  summary.textContent = `${res.body.total ?? 0} dead letter(s)` + ((res.body.byReason || []).length ? ' · ' + res.body.byReason.map((r) => `${r.reason}: ${r.count}`).join(', ') : '');
  const select = document.getElementById('dlq-queue');
  for (const q of queues) {
    if (![...select.options].some((o) => o.value === q.queue)) select.append(el('option', { value: q.queue, text: `${q.queue} (${q.module})` }));
  }
  const out = document.getElementById('dlq-result');
  for (const q of queues) for (const m of q.messages || []) {
    const act = async (method, path, label) => { const r = await api(method, path); responseView(out, r, label); await loadDlq(); };
    const orderId = m.data && m.data.orderId;
    body.append(el('tr', { dataset: { messageId: m.messageId, eventType: m.eventType || '' } },
      el('td', { text: q.queue }), el('td', { class: 'evt', text: m.eventType }), el('td', { class: 'mono', text: m.messageId }),
      el('td', { class: 'reason', text: m.reason || m.cause || '' }), el('td', { text: m.attempts ?? '' }), el('td', { text: shortTime(m.deadLetteredAt || m.lastFailure) }),
      el('td', {}, orderId ? el('button', { type: 'button', class: 'link', 'aria-label': `Show timeline of order ${orderId}`, onclick: () => hooks.showOrder(orderId), text: String(orderId).slice(0, 12) }) : ''),
      el('td', {},
        el('button', { type: 'button', 'aria-label': `Retry ${m.messageId}`, onclick: () => act('POST', `/api/dlq/${encodeURIComponent(m.messageId)}/retry`, 'retry'), text: 'Retry' }), ' ',
        el('button', { type: 'button', class: 'danger', hidden: !can('DELETE', '/api/dlq/:messageId'), 'aria-label': `Discard ${m.messageId}`, onclick: () => act('DELETE', `/api/dlq/${encodeURIComponent(m.messageId)}`, 'discard'), text: 'Discard' }))));
  }
  if (!body.rows.length) body.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'no dead letters' })));
  return res;
}

// retry-all with the filter of the form. "Retry filtered" only re-drives what a dry run of the
// very same filter just listed: a changed filter needs a new dry run.
function dlqFilter() {
  const v = (id) => document.getElementById(id).value.trim();
  const filter = {};
  if (v('dlq-queue')) filter.queue = v('dlq-queue');
  if (v('dlq-type')) filter.eventType = v('dlq-type');
  if (v('dlq-reason')) filter.reason = v('dlq-reason');
  return filter;
}
let dryRunOf = null;

export function invalidateDryRun() {
  dryRunOf = null;
  const retry = document.getElementById('retry-filtered');
  retry.disabled = true;
  retry.textContent = 'Retry filtered';
}

export async function dryRunDlq() {
  const filter = dlqFilter();
  const res = await api('POST', '/api/dlq/retry-all', { ...filter, dryRun: true });
  responseView(document.getElementById('dlq-result'), res, 'POST /api/dlq/retry-all (dry run)');
  invalidateDryRun();
  const matched = res.ok && res.body ? Number(res.body.matched) || 0 : 0;
  if (matched > 0) {
    dryRunOf = JSON.stringify(filter);
    const retry = document.getElementById('retry-filtered');
    retry.disabled = false;
    retry.textContent = `Retry filtered (${matched})`;
  }
  return res;
}

export async function retryFiltered() {
  const filter = dlqFilter();
  if (dryRunOf !== JSON.stringify(filter)) { invalidateDryRun(); return null; }
  const res = await api('POST', '/api/dlq/retry-all', filter);
  responseView(document.getElementById('dlq-result'), res, 'POST /api/dlq/retry-all');
  invalidateDryRun();
  await loadDlq();
  return res;
}

export async function loadOrders() {
  const res = await api('GET', '/api/orders?limit=20');
  const body = document.getElementById('orders-body');
  body.replaceChildren();
  if (!res.ok) return;
  for (const o of res.body.data || []) body.append(el('tr', {},
    el('td', { class: 'mono', text: o.orderId }), el('td', {}, el('span', { class: `status order-${o.status}`, text: o.status })),
    el('td', { text: o.totalAmount }), el('td', { text: shortTime(o.createdAt) }),
    el('td', {}, el('button', { type: 'button', class: 'link', 'data-order': o.orderId, 'aria-label': `Show timeline of order ${o.orderId}`, text: 'timeline' }))));
}
