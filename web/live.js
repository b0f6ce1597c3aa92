// Live flow: the /ws stream (message_flow, stats_update, system_health) with reconnect/backoff.
import { el, moduleOf, shortTime } from './api.js';

const MAX_ROWS = 500;

export class LiveFlow {
  constructor({ onStats, onHealth, onStatus, onOrderClick }) {
    this.onStats = onStats; this.onHealth = onHealth; this.onStatus = onStatus;
    this.onOrderClick = onOrderClick;
    this.paused = false; this.buffer = []; this.rows = new Map(); this.types = new Set();
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
      if (!this.paused) { const b = this.buffer; this.buffer = []; b.forEach((f) => this.addFrame(f)); }
      this.updateCount();
    });
    document.getElementById('clear-live').addEventListener('click', () => {
      this.body.replaceChildren(); this.rows.clear(); this.updateCount();
    });
  }

  connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.onStatus('connecting…', 'warn');
    let socket;
    try { socket = new WebSocket(url); } catch (e) { this.scheduleReconnect(); return; }
    this.socket = socket;
    socket.addEventListener('open', () => { this.backoff = 500; this.onStatus('live', 'ok'); });
    socket.addEventListener('message', (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === 'message_flow') this.paused ? this.buffer.push(frame) : this.addFrame(frame);
      else if (frame.type === 'stats_update') this.onStats(frame);
      else if (frame.type === 'system_health') this.onHealth(frame);
      for (const l of this.listeners) l(frame);
    });
    socket.addEventListener('close', () => { this.onStatus('disconnected: retrying', 'bad'); this.scheduleReconnect(); });
    socket.addEventListener('error', () => { /* close follows */ });
  }

  scheduleReconnect() {
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 15000);
    setTimeout(() => this.connect(), delay + Math.random() * 200);
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
    // Key by messageId + status + queue: a published event and its consumptions are separate rows.
    const key = `${frame.messageId}|${frame.status}|${frame.queue || ''}`;
    if (this.rows.has(key)) return;
    if (frame.eventType && !this.types.has(frame.eventType)) {
      this.types.add(frame.eventType);
      document.getElementById('event-types').append(el('option', { value: frame.eventType }));
    }
    const module = moduleOf(frame);
    const orderId = frame.data && (frame.data.orderId || (frame.data.order && frame.data.order.orderId));
    const row = el('tr', { class: `mod-${module} st-${frame.status}`, dataset: { eventType: frame.eventType || '', messageId: frame.messageId || '' } },
      el('td', { text: shortTime(frame.handledAt || frame.timestamp) }),
      el('td', { class: 'evt', text: frame.eventType || '' }),
      el('td', {}, el('span', { class: `chip mod-${module}`, text: module })),
      el('td', {}, el('span', { class: `status st-${frame.status}`, text: frame.status || '', title: frame.reason || undefined })),
      el('td', { text: frame.queue || '' }),
      el('td', {}, orderId ? el('button', { class: 'link', 'aria-label': `Show timeline of order ${orderId}`, onclick: () => this.onOrderClick(orderId), text: String(orderId).slice(0, 12) }) : ''),
      el('td', { class: 'mono', text: (frame.correlationId || '').slice(0, 12), title: frame.correlationId || undefined }),
    );
    row.hidden = !this.matches(frame);
    row._frame = frame;
    this.rows.set(key, row);
    this.body.prepend(row);
    while (this.body.rows.length > MAX_ROWS) {
      const last = this.body.lastElementChild; last.remove();
      for (const [k, r] of this.rows) if (r === last) { this.rows.delete(k); break; }
    }
    this.updateCount();
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
