// The saga of one order as a swim-lane: one lane per module, one column per event in the causal
// order of GET /api/orders/:id/timeline (its publication in the publisher's lane, its deliveries
// in the consumers' lanes), the time between steps above each column, failures, retries and dead
// letters marked, and a last column naming what the saga still waits for.
import { el } from './api.js';
import { MODULES } from './diagram.js';

export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '';
  if (ms < 1) return '<1 ms';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60000);
  return `${m} min ${Math.round((ms - m * 60000) / 1000)} s`;
}

const laneOfQueue = (queue) => MODULES.find((m) => (queue || '').startsWith(m)) || 'other';
const LANE_OF_STEP = { ORDER: 'orders', PAYMENT: 'payments', INVENTORY: 'inventory', NOTIFICATION: 'notifications' };
const ORDER_OUTCOME = { ORDER_CONFIRMED: 'paid', ORDER_FAILED: 'failed', ORDER_CANCELLED: 'cancelled' };

// What a missing step means, in words, for the lane that owes it.
function describePending(step, order) {
  const m = /^(\w+) -> (.+)$/.exec(step);
  if (m) return { lane: laneOfQueue(m[2]), text: `delivery of ${m[1]} to ${m[2]} in flight` };
  const lane = LANE_OF_STEP[step.split('_')[0]] || 'other';
  const method = order && order.paymentMethod;
  const texts = {
    PAYMENT_SUCCEEDED: method === 'pix' || method === 'boleto'
      ? `waiting for payment confirmation (${method}: PUT /api/payments/:id/status)` : 'waiting for the payment result',
    PAYMENT_FAILED: 'waiting for the payment to be failed',
    PAYMENT_REFUNDED: 'waiting for the refund',
    INVENTORY_RESERVED: 'waiting for the stock reservation',
    INVENTORY_CONFIRMED: 'waiting for the sale of the reserved stock',
    INVENTORY_RELEASED: 'waiting for the stock release',
    ORDER_CREATED: 'waiting for the order to be created',
    ORDER_CONFIRMED: 'waiting for the order to be confirmed (paid)',
  };
  return { lane, text: texts[step] || `waiting for ${step}` };
}

// The event log records a dead letter as the delivery's last attempt (status dead_lettered)
// plus a consumption from the dead-letter queue (dlq.*) by the recorder. Show one mark: the
// recorder's row is dropped when the attempt's row is there, else it stands for the dead letter.
function normalize(events) {
  const dead = new Set(events.filter((e) => e.status === 'dead_lettered' && !/^dlq\./.test(e.queue || ''))
    .map((e) => `${e.messageId}|${e.module}`));
  return events
    .filter((e) => !(e.status !== 'published' && /^dlq\./.test(e.queue || '') && dead.has(`${e.messageId}|${e.module}`)))
    .map((e) => (e.status !== 'published' && /^dlq\./.test(e.queue || '') ? { ...e, status: 'dead_lettered', stored: e.queue } : e));
}

// Deliveries dead-lettered and not consumed since (a re-drive): the saga is stuck there.
function stuckDeliveries(events) {
  const byDelivery = new Map();
  for (const e of events) {
    if (e.status === 'published') continue;
    const key = `${e.messageId}|${e.module}`;
    const d = byDelivery.get(key) || { dead: null, consumed: false };
    if (e.status === 'dead_lettered') d.dead = d.dead || e;
    if (e.status === 'consumed') d.consumed = true;
    byDelivery.set(key, d);
  }
  return [...byDelivery.values()].filter((d) => d.dead && !d.consumed).map((d) => d.dead);
}

export function pendingOf(timeline, order) {
  const out = stuckDeliveries(normalize(timeline.events || [])).map((e) => ({
    lane: e.module || laneOfQueue(e.queue), stuck: true, eventType: e.eventType,
    text: `blocked: ${e.eventType} was dead-lettered; re-drive it from Dead letters`,
  }));
  if (!timeline.settled) {
    for (const step of timeline.pendingSteps || []) {
      const p = describePending(step, order);
      // "X -> queue in flight" of a delivery already named as dead-lettered says nothing new.
      if (!out.some((o) => o.stuck && o.lane === p.lane && step.startsWith(`${o.eventType} -> `))) out.push(p);
    }
  }
  return out;
}

function cellItem(e, publishedAt, redriven) {
  const kind = e.status === 'published' ? 'published' : e.status;
  const retry = !e.stored && (e.attempt || 0) > 1;
  const mark = { published: '●', consumed: '✓', failed: '✗', dead_lettered: '☠' }[kind] || '·';
  const after = e.status !== 'published' && publishedAt ? formatDuration(Date.parse(e.at) - publishedAt) : '';
  const words = e.status === 'published' ? 'published'
    : e.stored ? `dead-lettered${after ? ` after ${after}` : ''} → ${e.stored}`
      : `${redriven ? 're-driven, ' : ''}${e.status.replace('_', '-')}${e.attempt ? ` #${e.attempt}` : ''}${after ? ` after ${after}` : ''}`;
  return el('div', { class: `sl-item st-${kind}${retry ? ' retry' : ''}`, 'data-status': e.status, 'data-attempt': e.attempt || undefined, title: e.reason || undefined },
    el('span', { class: 'sl-mark', 'aria-hidden': 'true', text: mark }), ' ', words,
    retry ? el('span', { class: 'sl-retry', text: ' retry' }) : '',
    e.reason ? el('div', { class: 'sl-reason', text: e.reason }) : '');
}

export function renderSwimlane(timeline, order, { focusMessageId = '', orderId = '' } = {}) {
  const events = normalize(timeline.events || []);
  // Columns: one per event (messageId), in the order the causal timeline first mentions it.
  const columns = [];
  const byId = new Map();
  for (const e of events) {
    let col = byId.get(e.messageId);
    if (!col) { col = { id: e.messageId, type: e.eventType, rows: [], at: Date.parse(e.at) }; byId.set(e.messageId, col); columns.push(col); }
    if (e.status === 'published' && !col.publishedAt) col.publishedAt = Date.parse(e.at);
    col.rows.push(e);
  }
  const lanes = [...MODULES];
  for (const e of events) if (e.module && !lanes.includes(e.module)) lanes.push(e.module);
  const pending = pendingOf(timeline, order);
  const start = columns.length ? (columns[0].publishedAt || columns[0].at) : 0;

  const head = el('tr', {}, el('th', { scope: 'col', class: 'sl-lane-head', text: 'module' }),
    columns.map((col, i) => {
      const at = col.publishedAt || col.at;
      const prev = i ? (columns[i - 1].publishedAt || columns[i - 1].at) : at;
      const outcome = ORDER_OUTCOME[col.type];
      return el('th', { scope: 'col', class: `sl-step${col.id === focusMessageId ? ' focus' : ''}`, 'data-message-id': col.id, 'data-event-type': col.type },
        el('div', { class: 'sl-delta', title: 'time since the previous step', text: i ? `+${formatDuration(at - prev)}` : 'start' }),
        el('div', { class: 'evt', text: col.type.replace(/_/g, '_\u200b') }),  // may wrap after _
        el('div', { class: 'muted', text: `#${i + 1} · ${formatDuration(at - start)} in` }),
        outcome ? el('span', { class: `status order-${outcome}`, 'data-testid': 'step-outcome', text: `order ${outcome}` }) : '');
    }),
    pending.length ? el('th', { scope: 'col', class: 'sl-pending-head', text: 'pending' }) : '');

  const body = lanes.map((lane) => el('tr', { 'data-lane': lane, class: `mod-${lane}` },
    el('th', { scope: 'row', class: 'sl-lane' }, el('span', { class: `chip mod-${lane}`, text: lane })),
    columns.map((col) => {
      const here = col.rows.filter((e) => (e.status === 'published' ? (e.source || e.module) === lane : e.module === lane));
      if (!here.length) return el('td', { class: 'sl-empty' });
      const worst = here.some((e) => e.status === 'dead_lettered') ? 'dead' : here.some((e) => e.status === 'failed') ? 'failed' : '';
      const outcome = here.some((e) => e.status === 'published') && ORDER_OUTCOME[col.type];
      return el('td', { class: `sl-cell${worst ? ` sl-${worst}` : ''}${col.id === focusMessageId ? ' focus' : ''}`, 'data-event-type': col.type, 'data-message-id': col.id, 'data-outcome': outcome || undefined },
        // By time within a cell: a re-driven delivery starts again at attempt 1, after the
        // original attempts, which attempt order alone would not say.
        here.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : (x.attempt || 0) - (y.attempt || 0)))
          .map((e, i, list) => cellItem(e, col.publishedAt, e.status === 'consumed' && list.slice(0, i).some((x) => x.status === 'dead_lettered'))));
    }),
    pending.length ? el('td', { class: 'sl-pending', 'data-testid': `pending-${lane}` },
      pending.filter((p) => p.lane === lane).map((p) => el('div', { class: `sl-wait${p.stuck ? ' stuck' : ''}`, text: p.text }))) : ''));

  const total = columns.length > 1 ? formatDuration((columns[columns.length - 1].publishedAt || columns[columns.length - 1].at) - start) : '';
  const summary = el('p', { class: 'sl-summary', 'data-testid': 'pending-summary' },
    pending.length ? el('strong', { class: 'warn-text', text: 'Still pending: ' }) : el('strong', { class: 'ok-text', text: timeline.settled ? 'Settled' : '' }),
    pending.length ? pending.map((p) => `${p.lane}: ${p.text}`).join(' · ') : (total ? ` after ${total}, ${columns.length} events.` : ''));
  const wrap = el('div', { class: 'swimlane-wrap', tabindex: 0, role: 'region', 'aria-label': `Swim-lane of order ${orderId}`, 'data-testid': 'swimlane' },
    el('table', { class: 'swimlane' }, el('thead', {}, head), el('tbody', {}, body)));
  return el('div', { class: 'swimlane-box' }, summary, wrap);
}
