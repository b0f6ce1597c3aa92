// Live flow: the /ws stream (message_flow, stats_update, system_health) with reconnect/backoff.
import { el, getCredential, moduleOf, shortTime } from './api.js';

const MAX_ROWS = 500;
const FLUSH_MS = 150;

export class LiveFlow {
  // onFlow(frame): each new message_flow frame shown (the diagram); onPause(paused): the pause
  // control changed; onEventClick(frame, orderId): an event of the flow was activated.
  // onRefused(): the socket closed before it ever opened (a refused credential looks like that).
  constructor({ onStats, onHealth, onStatus, onOrderClick, onEventClick, onFlow, onPause, onClear, onRefused = () => {} }) {
    this.onStats = onStats; this.onHealth = onHealth; this.onStatus = onStatus; this.onRefused = onRefused;
    this.stopped = true; this.timer = 0;
    this.onOrderClick = onOrderClick; this.onEventClick = onEventClick;
    this.onFlow = onFlow; this.onPause = onPause; this.onClear = onClear;
    this.paused = false; this.buffer = []; this.rows = new Map(); this.types = new Set();
    this.pending = []; this.pendingKeys = new Set(); this.flushPending = false;
    this.backoff = 500; this.socket = null; this.listeners = new Set();
    this.body = document.getElementById('flow-body');
    this.count = document.getElementById('live-count');
    this.filters = {
      type: document.getElementById('f-type'), module: document.getElementById('f-module'),
      status: document.getElementById('f-status'), corr: document.getElementById('f-corr'),
    };
    for (const input of Object.values(this.filters)) input.addEventListener('input', () => this.applyFilters());
    const pause = document.getElementById('pause');
    pause.addEventListener('click', () => {
      this.paused = !this.paused;
      pause.setAttribute('aria-pressed', String(this.paused));
      pause.textContent = this.paused ? `Resume` : 'Pause';
      this.onPause(this.paused);
      if (!this.paused) { const b = this.buffer; this.buffer = []; b.forEach((f) => this.addFrame(f)); }
      this.updateCount();
    });
    document.getElementById('clear-live').addEventListener('click', () => {
      this.body.replaceChildren(); this.rows.clear(); this.pending = []; this.pendingKeys.clear();
      this.updateCount(); this.onClear();
    });
  }

  connect() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;  // connecting or open
    this.stopped = false;
    clearTimeout(this.timer);
    let url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    // The credential travels as the subprotocols ['bearer', <credential>], so that it appears in
    // no URL or access log; only one that is no valid subprotocol token (an API key with other
    // characters) goes in the query string instead.
    const credential = getCredential();
    let protocols;
    if (credential && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(credential)) protocols = ['bearer', credential];
    else if (credential) url += `?access_token=${encodeURIComponent(credential)}`;
    this.onStatus('connecting…', 'warn');
    let socket;
    try { socket = new WebSocket(url, protocols); } catch (e) { this.scheduleReconnect(); return; }
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => { opened = true; this.backoff = 500; this.onStatus('live', 'ok'); });
    socket.addEventListener('message', (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === 'message_flow') this.paused ? this.bufferFrame(frame) : this.addFrame(frame);
      else if (frame.type === 'stats_update') this.onStats(frame);
      else if (frame.type === 'system_health') this.onHealth(frame);
      for (const l of this.listeners) l(frame);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket || this.stopped) return;
      this.onStatus('disconnected: retrying', 'bad');
      this.scheduleReconnect();
      if (!opened) this.onRefused();
    });
    socket.addEventListener('error', () => { /* close follows */ });
  }

  // While paused frames wait in the buffer.
  bufferFrame(frame) {
    this.buffer.push(frame);
    this.scheduleCount();
  }

  // The count line walks every row: redrawn at most once per animation frame, however many
  // frames arrive.
  scheduleCount() {
    if (!this.countPending) {
      this.countPending = true;
      requestAnimationFrame(() => { this.countPending = false; this.updateCount(); });
    }
  }

  scheduleReconnect() {
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 15000);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.stopped) this.connect(); }, delay + Math.random() * 200);
  }

  // Signed out (or the session ended): close the stream and stop reconnecting.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.onStatus('off', '');
  }

  matches(frame) {
    const f = this.filters;
    const type = f.type.value.trim().toUpperCase();
    const corr = f.corr.value.trim();
    if (type && !(frame.eventType || '').toUpperCase().includes(type)) return false;
    if (f.module.value && moduleOf(frame) !== f.module.value) return false;
    if (f.status.value && frame.status !== f.status.value) return false;
    if (corr && !(frame.correlationId || '').includes(corr)) return false;
    return true;
  }

  addFrame(frame) {
    // Key by messageId + status + queue + attempt: a published event, its consumptions and each
    // failed attempt of a delivery are separate rows.
    const key = `${frame.messageId}|${frame.status}|${frame.queue || ''}|${frame.attempt || ''}`;
    if (this.rows.has(key) || this.pendingKeys.has(key)) return;
    this.onFlow(frame);
    // Rows are added in batches, at most every FLUSH_MS (each batch costs one layout of the
    // table), and only the newest MAX_ROWS of a burst: the rest would be trimmed at once.
    this.pending.push([key, frame]);
    this.pendingKeys.add(key);
    if (this.pending.length > 2 * MAX_ROWS) {
      for (const [k] of this.pending.splice(0, this.pending.length - MAX_ROWS)) this.pendingKeys.delete(k);
    }
    if (!this.flushPending) {
      this.flushPending = true;
      setTimeout(() => requestAnimationFrame(() => this.flush()), this.pending.length > 1 ? FLUSH_MS : 0);
    }
  }

  flush() {
    this.flushPending = false;
    const batch = this.pending.slice(-MAX_ROWS);
    this.pending = []; this.pendingKeys.clear();
    const rows = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i -= 1) rows.append(this.buildRow(...batch[i]));  // newest first
    this.body.prepend(rows);
    for (let n = this.body.rows.length - MAX_ROWS; n > 0; n -= 1) {
      const last = this.body.lastElementChild; last.remove();
      this.rows.delete(last._key);
    }
    this.updateCount();
  }

  buildRow(key, frame) {
    if (frame.eventType && !this.types.has(frame.eventType)) {
      this.types.add(frame.eventType);
      document.getElementById('event-types').append(el('option', { value: frame.eventType }));
    }
    const module = moduleOf(frame);
    const orderId = frame.data && (frame.data.orderId || (frame.data.order && frame.data.order.orderId));
    const row = el('tr', { class: `mod-${module} st-${frame.status}`, dataset: { eventType: frame.eventType || '', messageId: frame.messageId || '' } },
      el('td', { text: shortTime(frame.handledAt || frame.timestamp) }),
      el('td', { class: 'evt' }, el('button', { type: 'button', class: 'link evt-link', 'aria-label': `Show ${frame.eventType} in its order's timeline`, onclick: () => this.onEventClick(frame, orderId), text: frame.eventType || '' })),
      el('td', {}, el('span', { class: `chip mod-${module}`, text: module })),
      el('td', {}, el('span', { class: `status st-${frame.status}`, text: frame.status || '', title: frame.reason || undefined })),
      el('td', { text: frame.queue || '' }),
      el('td', {}, orderId ? el('button', { class: 'link', 'aria-label': `Show timeline of order ${orderId}`, onclick: () => this.onOrderClick(orderId), text: String(orderId).slice(0, 12) }) : ''),
      el('td', { class: 'mono', text: (frame.correlationId || '').slice(0, 12), title: frame.correlationId || undefined }),
    );
    row.hidden = !this.matches(frame);
    row._frame = frame; row._key = key;
    this.rows.set(key, row);
    return row;
  }

  applyFilters() {
    for (const row of this.body.rows) row.hidden = !this.matches(row._frame);
    this.updateCount();
  }

  updateCount() {
    const shown = [...this.body.rows].filter((r) => !r.hidden).length;
    this.count.textContent = `${shown} shown / ${this.body.rows.length} received` + (this.paused ? ` · paused (${this.buffer.length} buffered)` : '');
  }
}
