// "Break it": toggle an injected fault per module (GET/PUT/DELETE /api/faults). While a module is
// broken every delivery to its queue fails, so after the retry policy's attempts its messages are
// dead-lettered. The API exists only when the server enables fault injection, so it is asked only
// when the control is opened or a delivery fails with an injected fault (a 404 on every page load
// would be a console error for every server that has fault injection off).
import { api, el } from './api.js';
import { MODULES } from './diagram.js';

// The payment gateway is not a module but can be broken too: its charges go unanswered, payments
// wait and retry, and its circuit breaker opens (Health shows it).
const TARGETS = [...MODULES, 'gateway'];

export class FaultControl {
  constructor({ details, buttons, status, onFaults }) {
    this.details = details; this.status = status; this.onFaults = onFaults;
    this.available = null; this.faults = []; this.loading = null;
    this.buttons = new Map(TARGETS.map((m) => {
      const b = el('button', { type: 'button', id: `fault-${m}`, class: 'secondary fault-toggle', 'aria-pressed': 'false', disabled: true, onclick: () => this.toggle(m) },
        el('span', { class: `chip mod-${m}`, text: m }), el('span', { class: 'fault-state', text: ' ok' }));
      buttons.append(b);
      return [m, b];
    }));
    details.addEventListener('toggle', () => { if (details.open) this.refresh(); });
  }

  refresh() {
    if (!this.loading) this.loading = this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  async load() {
    const res = await api('GET', '/api/faults');
    if (res.status === 404 || (res.ok && res.body && res.body.enabled === false)) {
      this.available = false;
      this.status.textContent = 'Fault injection is off on this server (SHOPFLOW_FAULT_INJECTION=on enables it; it is on by default on loopback).';
      this.render();
      return;
    }
    if (!res.ok) { this.status.textContent = `GET /api/faults → ${res.status}`; return; }
    this.available = true;
    this.faults = Array.isArray(res.body.faults) ? res.body.faults : [];
    const modules = Array.isArray(res.body.modules) ? res.body.modules : TARGETS;
    for (const [m, b] of this.buttons) b.hidden = !modules.includes(m);
    this.status.textContent = this.faults.length
      ? `failing: ${this.faults.map((f) => `${f.module} (${f.failed ?? 0} deliveries failed)`).join(', ')}` : 'all modules healthy';
    this.render();
  }

  render() {
    const on = new Set(this.faults.map((f) => f.module));
    for (const [m, b] of this.buttons) {
      b.disabled = !this.available;
      b.setAttribute('aria-pressed', String(on.has(m)));
      b.classList.toggle('danger', on.has(m));
      b.querySelector('.fault-state').textContent = on.has(m) ? ' failing' : ' ok';
      b.setAttribute('aria-label', on.has(m) ? `${m} is failing: fix it` : `${m} is healthy: break it`);
    }
    this.onFaults(this.faults);
  }

  async toggle(module) {
    const failing = this.faults.some((f) => f.module === module);
    const b = this.buttons.get(module);
    b.disabled = true;
    const res = failing ? await api('DELETE', `/api/faults/${module}`) : await api('PUT', `/api/faults/${module}`, { mode: 'fail' });
    if (!res.ok && res.status !== 404) this.status.textContent = `${failing ? 'DELETE' : 'PUT'} /api/faults/${module} → ${res.status} ${JSON.stringify(res.body)}`;
    await this.refresh();
  }
}
