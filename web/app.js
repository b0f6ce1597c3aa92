// shopflow dashboard: wiring of tabs, live stream, panels. Plain ES modules, no build step.
import { api, el, onError } from './api.js';
import { LiveFlow } from './live.js';
import { renderTestPanel, runScenario, loadTimeline, renderStats, renderHealth, loadDlq, dryRunDlq, loadOrders, state } from './panels.js';

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $('errors');
  const item = el('div', { class: 'error-item' }, message, ' ', el('button', { type: 'button', class: 'secondary', 'aria-label': 'Dismiss error', onclick: () => item.remove(), text: '×' }));
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
}
onError(showError);
window.addEventListener('unhandledrejection', (e) => { e.preventDefault(); showError(String(e.reason && e.reason.message || e.reason)); });

// ---------- tabs (arrow keys move between tabs) ----------
const tabs = [...document.querySelectorAll('[role=tab]')];
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
  if (id === 'timeline') loadOrders();
  if (id === 'stats') refreshStats();
  history.replaceState(null, '', `#${id}`);
}
tabs.forEach((t, i) => {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    const n = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (n) { e.preventDefault(); selectTab(tabs[(i + n + tabs.length) % tabs.length]); }
    if (e.key === 'Home') { e.preventDefault(); selectTab(tabs[0]); }
    if (e.key === 'End') { e.preventDefault(); selectTab(tabs[tabs.length - 1]); }
  });
});

function showOrder(orderId) {
  selectTab($('tab-timeline'), false);
  $('timeline-order').value = orderId;
  loadTimeline(orderId, $('timeline-view'));
}

async function refreshStats() {
  const [stats, health] = await Promise.all([api('GET', '/api/stats'), api('GET', '/api/health')]);
  if (stats.ok) renderStats(stats.body);
  if (health.body && typeof health.body === 'object') renderHealth(health.body);
}

// ---------- live ----------
const live = new LiveFlow({
  onStats: renderStats,
  onHealth: renderHealth,
  onStatus: (text, cls) => { const s = $('ws-status'); s.textContent = `ws: ${text}`; s.className = `badge ${cls}`; },
  onOrderClick: showOrder,
});
window.shopflowDashboard = { live, state };

// ---------- panels ----------
renderTestPanel($('actions'));
for (const b of document.querySelectorAll('[data-scenario]')) {
  b.addEventListener('click', async () => {
    const buttons = document.querySelectorAll('[data-scenario]');
    buttons.forEach((x) => { x.disabled = true; });
    try { await runScenario(b.dataset.scenario, $('scenario-log'), $('scenario-timeline')); }
    catch (e) { showError(`scenario ${b.dataset.scenario}: ${e.message}`); }
    finally { buttons.forEach((x) => { x.disabled = false; }); }
  });
}
$('timeline-form').addEventListener('submit', (e) => { e.preventDefault(); const id = $('timeline-order').value.trim(); if (id) loadTimeline(id, $('timeline-view')); });
$('live-filters').addEventListener('submit', (e) => e.preventDefault());
$('refresh-orders').addEventListener('click', loadOrders);
$('orders-body').addEventListener('click', (e) => { const id = e.target.dataset && e.target.dataset.order; if (id) showOrder(id); });
$('refresh-stats').addEventListener('click', refreshStats);
$('refresh-dlq').addEventListener('click', loadDlq);
$('dryrun-dlq').addEventListener('click', dryRunDlq);

const tabOfHash = () => tabs.find((t) => `#${t.getAttribute('aria-controls')}` === location.hash);
window.addEventListener('hashchange', () => { const t = tabOfHash(); if (t && t.getAttribute('aria-selected') !== 'true') selectTab(t, false); });
if (tabOfHash()) selectTab(tabOfHash(), false);
refreshStats();
live.connect();
