// shopflow dashboard: wiring of tabs, live stream, panels. Plain ES modules, no build step.
import { api, el, onError } from './api.js';
import { LiveFlow } from './live.js';
import { FlowDiagram } from './diagram.js';
import { FaultControl } from './faults.js';
import { Session } from './auth.js';
import { applyRole, can } from './policy.js';
import { renderTestPanel, prepareForCustomer, runScenario, loadTimeline, renderStats, renderHealth, loadDlq, dryRunDlq, retryFiltered, invalidateDryRun, loadOrders, state, hooks } from './panels.js';

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $('errors');
  const item = el('div', { class: 'error-item' }, message, ' ', el('button', { type: 'button', class: 'secondary', 'aria-label': 'Dismiss error', onclick: () => item.remove(), text: '×' }));
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
}
onError(showError);
window.addEventListener('unhandledrejection', (e) => { e.preventDefault(); showError(String(e.reason && e.reason.message || e.reason)); });

// ---------- tabs (arrow keys move between the tabs the role may see) ----------
const tabs = [...document.querySelectorAll('[role=tab]')];
const visibleTabs = () => tabs.filter((t) => !t.hidden);
function selectTab(tab, focus = true) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  const id = tab.getAttribute('aria-controls');
  if (id === 'dlq') loadDlq();
  if (id === 'timeline') { loadOrders(); if (shown.orderId && !shown.settled && focus) refreshShown(); }
  if (id === 'stats') refreshStats();
  history.replaceState(null, '', `#${id}`);
}
tabs.forEach((t) => {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    const shown = visibleTabs();
    const i = shown.indexOf(t);
    const n = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (n) { e.preventDefault(); selectTab(shown[(i + n + shown.length) % shown.length]); }
    if (e.key === 'Home') { e.preventDefault(); selectTab(shown[0]); }
    if (e.key === 'End') { e.preventDefault(); selectTab(shown[shown.length - 1]); }
  });
});

// The order shown in the Timeline tab; its live frames (same correlation id) refresh it.
const shown = { orderId: '', correlationId: '', settled: false, timer: 0, seq: 0 };

async function showTimeline(orderId, options = {}) {
  const seq = ++shown.seq;
  if (orderId !== shown.orderId) Object.assign(shown, { orderId, correlationId: '', settled: false });
  const r = await loadTimeline(orderId, $('timeline-view'), options);
  if (seq !== shown.seq) return r;
  shown.correlationId = (r.order && r.order.metadata && r.order.metadata.correlationId) || shown.correlationId;
  shown.settled = !!(r.timeline && r.timeline.settled);
  // Frames can come before their event-log rows: while the saga is in flight, look again a
  // little later even when no frame arrives.
  clearTimeout(shown.timer);
  if (r.ok && !shown.settled) shown.timer = setTimeout(() => refreshShown(), 3000);
  return r;
}

function refreshShown() {
  clearTimeout(shown.timer);
  if (shown.orderId && !$('timeline').hidden) showTimeline(shown.orderId);
}

function showOrder(orderId, focusMessageId = '') {
  selectTab($('tab-timeline'), false);
  $('timeline-order').value = orderId;
  return showTimeline(orderId, { focusMessageId });
}

// An event of the live flow: its order from the frame, else from the event log by correlation id.
async function showEvent(frame, orderId) {
  if (!orderId && frame.correlationId) {
    const res = await api('GET', `/api/messages?correlationId=${encodeURIComponent(frame.correlationId)}&limit=50`);
    const row = res.ok && res.body && (res.body.data || []).find((m) => m.orderId || (m.data && m.data.orderId));
    orderId = row && (row.orderId || row.data.orderId);
  }
  if (orderId) showOrder(orderId, frame.messageId);
  else showError(`${frame.eventType} ${frame.messageId || ''} belongs to no order`);
}
hooks.showOrder = showOrder;

async function refreshStats() {
  const [stats, health] = await Promise.all([can('GET', '/api/stats') ? api('GET', '/api/stats') : {}, api('GET', '/api/health')]);
  if (stats.ok) renderStats(stats.body);
  if (health.body && typeof health.body === 'object') renderHealth(health.body);
}

// ---------- live ----------
const diagram = new FlowDiagram($('diagram'), {
  onModule: (m) => {
    const select = $('f-module');
    select.value = select.value === m ? '' : m;
    select.dispatchEvent(new Event('input'));
  },
  onDeadLetters: () => selectTab($('tab-dlq')),
});
$('f-module').addEventListener('input', () => diagram.setSelected($('f-module').value));
const faults = new FaultControl({ details: $('break-it'), buttons: $('fault-buttons'), status: $('fault-status'), onFaults: (list) => diagram.setFaults(list) });

const live = new LiveFlow({
  onStats: renderStats,
  onHealth: renderHealth,
  onStatus: (text, cls) => { const s = $('ws-status'); s.textContent = `ws: ${text}`; s.className = `badge ${cls}`; },
  onOrderClick: showOrder,
  onEventClick: showEvent,
  onFlow: (frame) => diagram.add(frame),
  onPause: (paused) => diagram.setPaused(paused),
  onClear: () => diagram.reset(),
  onRefused: () => session.check(),
});
// Views that follow the stream even while the flow is paused: the order shown in the Timeline
// tab, the Dead letters view, and the faults (a delivery failing with an injected fault).
let dlqTimer = 0; let timelineTimer = 0; let faultTimer = 0;
live.listeners.add((frame) => {
  if (frame.type !== 'message_flow') return;
  if (shown.orderId && frame.correlationId && frame.correlationId === shown.correlationId && !timelineTimer) {
    timelineTimer = setTimeout(() => { timelineTimer = 0; refreshShown(); }, 400);
  }
  if (frame.status === 'dead_lettered' && !$('dlq').hidden && !dlqTimer) {
    dlqTimer = setTimeout(() => { dlqTimer = 0; loadDlq(); }, 500);
  }
  if (frame.status !== 'consumed' && /injected/i.test(frame.reason || '') && faults.available !== false && can('PUT', '/api/faults/:module') && !faultTimer) {
    faultTimer = setTimeout(() => { faultTimer = 0; faults.refresh(); }, 2000);
  }
});
window.shopflowDashboard = { live, state, diagram, faults };

// ---------- panels ----------
const refreshTestPanel = renderTestPanel($('actions'));
for (const b of document.querySelectorAll('[data-scenario]')) {
  b.addEventListener('click', async () => {
    const buttons = document.querySelectorAll('[data-scenario]');
    buttons.forEach((x) => { x.disabled = true; });
    try { await runScenario(b.dataset.scenario, $('scenario-log'), $('scenario-timeline')); }
    catch (e) { showError(`scenario ${b.dataset.scenario}: ${e.message}`); }
    finally { buttons.forEach((x) => { x.disabled = false; }); }
  });
}
$('timeline-form').addEventListener('submit', (e) => { e.preventDefault(); const id = $('timeline-order').value.trim(); if (id) showTimeline(id); });
$('live-filters').addEventListener('submit', (e) => e.preventDefault());
$('refresh-orders').addEventListener('click', loadOrders);
$('orders-body').addEventListener('click', (e) => { const id = e.target.dataset && e.target.dataset.order; if (id) showOrder(id); });
$('refresh-stats').addEventListener('click', refreshStats);
$('refresh-dlq').addEventListener('click', loadDlq);
$('dryrun-dlq').addEventListener('click', dryRunDlq);
$('dlq-filter').addEventListener('submit', (e) => { e.preventDefault(); retryFiltered(); });
$('dlq-filter').addEventListener('input', invalidateDryRun);

const tabOfHash = () => visibleTabs().find((t) => `#${t.getAttribute('aria-controls')}` === location.hash);
window.addEventListener('hashchange', () => { const t = tabOfHash(); if (t && t.getAttribute('aria-selected') !== 'true') selectTab(t, false); });

// ---------- sign-in ----------
// Nothing is asked of the API before whoami said who is signed in; then the role decides what is
// shown (policy.js) and whether the live stream is opened (/ws needs operator).
const session = new Session({
  form: $('signin'), input: $('signin-credential'), error: $('signin-error'), status: $('auth-status'), signOut: $('sign-out'),
  app: [$('tabs'), document.querySelector('main')],
  onSignedIn: (who) => {
    applyRole();
    const current = tabs.find((t) => t.getAttribute('aria-selected') === 'true');
    if (tabOfHash()) selectTab(tabOfHash(), false);
    else if (!current || current.hidden) selectTab(visibleTabs()[0], false);
    if (who.role === 'customer') prepareForCustomer(who.sub, refreshTestPanel);
    refreshStats();
    if (can('GET', '/ws')) live.connect();
  },
  onSignedOut: () => live.stop(),
});
session.start();
