// Browser tests of the shopflow dashboard (web/), served by the shopflow binary at /.
//
//   SHOPFLOW_BINARY=build/src/app/shopflow node --test tests/browser/dashboard.test.mjs
//
// Env: SHOPFLOW_BINARY (required unless SHOPFLOW_URL points at a running server),
//      SHOPFLOW_SCREENSHOTS (default ../../build/screenshots, relative to this file),
//      CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ShopflowServer, TIMEOUT, poll } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, process.env.SHOPFLOW_SCREENSHOTS || '../../build/screenshots');
// Two quick attempts: a delivery that keeps failing is dead-lettered within a second.
const server = new ShopflowServer({
  binary: process.env.SHOPFLOW_BINARY,
  env: { ...process.env, SHOPFLOW_RETRY_MAX_ATTEMPTS: '2', SHOPFLOW_RETRY_INITIAL_DELAY_MS: '50' },
  dataDirPrefix: 'shopflow-browser-',
  usage: 'set SHOPFLOW_BINARY to the shopflow binary (or SHOPFLOW_URL)',
});

let baseUrl; let browser; let page;
const problems = [];  // console errors and page errors

async function shot(name, fullPage = true) {
  fs.mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage });
}

async function tab(name) {
  await page.getByRole('tab', { name }).click();
}

before(async () => {
  baseUrl = process.env.SHOPFLOW_URL || await server.start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url || 'no url'})`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
});

after(async () => {
  if (browser) await browser.close();  // before the server: no reconnect noise
  await server.stop();
});

test('the page loads with its sections, live stream and no console errors', async () => {
  const res = await page.goto(baseUrl + '/');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /text\/html/);
  for (const name of ['Live flow', 'Test panel', 'Scenarios', 'Timeline', 'Stats & health', 'Dead letters']) {
    await page.getByRole('tab', { name }).waitFor();
  }
  await page.locator('#ws-status', { hasText: 'live' }).waitFor();
  // Authentication is off on loopback: a badge says so, and there is nothing to sign in to.
  await page.locator('#auth-status', { hasText: 'auth off' }).waitFor();
  assert.equal(await page.locator('#signin').isVisible(), false);
  assert.equal(await page.locator('#sign-out').isVisible(), false);
  // The first stats_update and system_health frames arrive on connect.
  await page.locator('#health-list li').first().waitFor({ state: 'attached' });
  await page.locator('#stats-cards .card').first().waitFor({ state: 'attached' });
  const js = await page.request.get(baseUrl + '/app.js');
  assert.match(js.headers()['content-type'], /text\/javascript/);
  assert.equal(js.headers()['cache-control'], 'no-cache');
  const missing = await page.request.get(baseUrl + '/no-such-file.js');
  assert.equal(missing.status(), 404);
  assert.equal((await missing.json()).error.code, 'not_found');
  const head = await page.request.head(baseUrl + '/style.css');
  assert.equal(head.status(), 200);
  assert.match(head.headers()['content-type'], /text\/css/);
  await shot('01-loaded');
  assert.deepEqual(problems, []);
});

test('the test panel creates an order and its events appear in the live flow', async () => {
  await tab('Test panel');
  await page.click('#send-create-product');
  await page.locator('#resp-create-product', { hasText: '→ 201' }).waitFor();
  await page.click('#send-create-order');
  await page.locator('#resp-create-order', { hasText: '→ 201' }).waitFor();
  const order = JSON.parse((await page.textContent('#resp-create-order')).split('\n').slice(1).join('\n'));
  assert.ok(order.orderId);
  await shot('02-test-panel');
  await tab('Live flow');
  await page.fill('#f-corr', order.metadata.correlationId);
  for (const type of ['ORDER_CREATED', 'PAYMENT_SUCCEEDED']) {
    await page.locator(`#flow-body tr[data-event-type="${type}"]:not([hidden])`).first().waitFor();
  }
  await shot('03-live-flow');
  await page.fill('#f-corr', '');
  assert.deepEqual(problems, []);
});

// The per-edge delivery counts of the diagram, e.g. {'orders>inventory': {consumed, failed, dead}}.
async function edgeCounts() {
  return page.$$eval('[data-testid=diagram] [data-edge]', (edges) => Object.fromEntries(edges.map((e) => [e.dataset.edge,
    { consumed: Number(e.dataset.consumed), failed: Number(e.dataset.failed), dead: Number(e.dataset.dead) }])));
}

async function createOrderFromPanel() {
  await tab('Test panel');
  await page.click('#send-create-order');
  await page.locator('#resp-create-order', { hasText: '→ 201' }).waitFor();
  const text = await page.textContent('#resp-create-order');
  const order = JSON.parse(text.split('\n').slice(1).join('\n'));
  await page.locator('#resp-create-order').evaluate((e) => { e.textContent = ''; e.hidden = true; });  // the next answer is new
  return order;
}

// Whether the event log already holds one of the order's events (the timeline answers 404
// before, and the browser would log that 404 as a console error).
async function logged(order) {
  const res = await page.request.get(`${baseUrl}/api/messages?correlationId=${order.metadata.correlationId}&limit=1`);
  return res.ok() && (await res.json()).data.length > 0;
}

test('the diagram moves an order through the modules and counts deliveries per edge', async () => {
  await tab('Live flow');
  await page.locator('[data-testid=diagram] [data-node=payments]').waitFor();
  const before = await edgeCounts();
  for (const edge of ['orders>inventory', 'orders>payments', 'payments>orders', 'inventory>orders', 'orders>notifications']) {
    assert.ok(before[edge], `edge ${edge} is drawn`);
  }
  await createOrderFromPanel();
  await tab('Live flow');
  // orders → inventory/payments → orders → notifications: every hop of the saga is counted.
  await poll('the per-edge counts to grow', async () => {
    const now = await edgeCounts();
    return ['orders>inventory', 'orders>payments', 'payments>orders', 'inventory>orders', 'payments>notifications']
      .every((e) => now[e].consumed > before[e].consumed);
  });
  await page.locator('[data-testid=diagram] [data-edge="orders>payments"] .edge-count').filter({ hasText: /\d/ }).waitFor();
  await shot('10-diagram', false);  // the live table below grows long
  assert.deepEqual(problems, []);
});

test('pausing the flow freezes the diagram; resuming replays what arrived meanwhile', async () => {
  await tab('Live flow');
  await page.click('#pause');
  assert.equal(await page.getAttribute('#pause', 'aria-pressed'), 'true');
  const before = await edgeCounts();
  await createOrderFromPanel();
  await tab('Live flow');
  await page.locator('#live-count', { hasText: /paused \([1-9]\d* buffered\)/ }).waitFor();
  assert.deepEqual(await edgeCounts(), before, 'no count moves while paused');
  await page.click('#pause');
  await poll('the buffered deliveries to be counted', async () => (await edgeCounts())['orders>payments'].consumed > before['orders>payments'].consumed);
  assert.deepEqual(problems, []);
});

test('the diagram is keyboard usable: a module node filters the flow', async () => {
  await tab('Live flow');
  const node = page.locator('[data-testid=diagram] [data-node=payments]');
  await node.focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.inputValue('#f-module'), 'payments');
  assert.equal(await node.getAttribute('aria-pressed'), 'true');
  assert.equal(await page.locator('#flow-body tr:not([hidden])').count(), await page.locator('#flow-body tr.mod-payments:not([hidden])').count());
  await page.keyboard.press(' ');
  assert.equal(await page.inputValue('#f-module'), '');
  assert.equal(await node.getAttribute('aria-pressed'), 'false');
  await page.locator('[data-testid=diagram] [data-node=dlq]').focus();
  await page.keyboard.press('Enter');
  await page.locator('#tab-dlq[aria-selected=true]').waitFor();
  assert.deepEqual(problems, []);
});

async function scenario(buttonName) {
  await tab('Scenarios');
  await page.getByRole('button', { name: buttonName }).click();
  // Each scenario re-enables its buttons when its order settled.
  await page.locator('[data-scenario]:disabled').first().waitFor({ state: 'attached' }).catch(() => {});
  await poll('the scenario to finish', async () => page.locator('[data-scenario]:disabled').count().then((n) => n === 0), 40000);
}

test('the happy scenario follows the saga to paid', async () => {
  await scenario('Happy order');
  await page.locator('#scenario-timeline [data-testid=order-status]', { hasText: /^paid$/ }).waitFor();
  await page.locator('#scenario-timeline tr[data-event-type="PAYMENT_SUCCEEDED"]').first().waitFor();
  // The swim-lane: a lane per module, the step where the order became paid, nothing pending.
  const lanes = page.locator('#scenario-timeline [data-testid=swimlane] tr[data-lane]');
  assert.deepEqual(await lanes.evaluateAll((rows) => rows.map((r) => r.dataset.lane)), ['orders', 'inventory', 'payments', 'notifications']);
  await page.locator('#scenario-timeline [data-lane=orders] td[data-outcome=paid][data-event-type=ORDER_CONFIRMED]').waitFor();
  await page.locator('#scenario-timeline [data-lane=payments] td[data-event-type=PAYMENT_SUCCEEDED] [data-status=published]').waitFor();
  await page.locator('#scenario-timeline [data-lane=inventory] td[data-event-type=ORDER_CONFIRMED] [data-status=consumed]').waitFor();
  await page.locator('#scenario-timeline [data-testid=pending-summary]', { hasText: 'Settled' }).waitFor();
  await shot('04-happy');
  assert.deepEqual(problems, []);
});

test('the declined-card scenario shows the compensation', async () => {
  await scenario('Declined card');
  await page.locator('#scenario-timeline [data-testid=order-status]', { hasText: /^failed$/ }).waitFor();
  await page.locator('#scenario-timeline tr[data-event-type="PAYMENT_FAILED"]').first().waitFor();
  await page.locator('#scenario-timeline tr[data-event-type="INVENTORY_RELEASED"]').first().waitFor();
  await shot('05-declined');
  assert.deepEqual(problems, []);
});

test('the out-of-stock scenario fails the order and refunds its payment', async () => {
  await scenario('Out of stock');
  await page.locator('#scenario-timeline [data-testid=order-status]', { hasText: /^failed$/ }).waitFor();
  await page.locator('#scenario-log', { hasText: 'compensation' }).waitFor();
  await shot('06-out-of-stock');
  assert.deepEqual(problems, []);
});

test('the cancel scenario cancels a paid order: refund and stock release', async () => {
  await scenario('Cancel a paid order');
  await page.locator('#scenario-timeline [data-testid=order-status]', { hasText: /^cancelled$/ }).waitFor();
  await page.locator('#scenario-timeline tr[data-event-type="PAYMENT_REFUNDED"]').first().waitFor();
  await page.locator('#scenario-timeline tr[data-event-type="INVENTORY_RELEASED"]').first().waitFor();
  await shot('07-cancel');
  assert.deepEqual(problems, []);
});

test('the timeline tab shows an order clicked in the list', async () => {
  await tab('Timeline');
  await page.locator('#orders-body button[data-order]').first().click();
  await page.locator('#timeline-view [data-testid=order-status]').waitFor();
  await page.locator('#timeline-view tr[data-event-type="ORDER_CREATED"]').first().waitFor();
  await shot('08-timeline');
  assert.deepEqual(problems, []);
});

test('a pending pix order shows what it waits for; an event of the live flow opens it', async () => {
  const product = await (await page.request.post(`${baseUrl}/api/inventory/products`, { data: { name: 'Pix widget', sku: `PIX-${Date.now()}`, price: 10, stock: 5 } })).json();
  const res = await page.request.post(`${baseUrl}/api/orders`, { data: { customerId: 'pix-customer', items: [{ productId: product.productId, quantity: 1 }], paymentMethod: 'pix' } });
  assert.equal(res.status(), 201);
  const order = await res.json();
  await poll('the order\'s first event in the log', () => logged(order));
  await tab('Live flow');
  await page.fill('#f-corr', order.metadata.correlationId);
  const event = page.locator('#flow-body tr[data-event-type="PAYMENT_PROCESSING"]:not([hidden]) button.evt-link').first();
  await event.click();
  await page.locator('#tab-timeline[aria-selected=true]').waitFor();
  await page.locator('#timeline-view [data-testid=order-status]', { hasText: /^pending$/ }).waitFor();
  await page.locator('#timeline-view [data-testid=swimlane] th.focus[data-event-type=PAYMENT_PROCESSING]').waitFor();
  await page.locator('#timeline-view [data-testid=pending-payments]', { hasText: 'waiting for payment confirmation' }).waitFor();
  await page.locator('#timeline-view [data-testid=pending-summary]', { hasText: 'Still pending' }).waitFor();
  await shot('11-swimlane-pending');
  await tab('Live flow');
  await page.fill('#f-corr', '');
  assert.deepEqual(problems, []);
});

test('the dead-letter view loads and dry-runs a retry-all', async () => {
  await tab('Dead letters');
  await page.locator('#dlq-summary', { hasText: 'dead letter' }).waitFor();
  await page.click('#dryrun-dlq');
  await page.locator('#dlq-result', { hasText: 'retry-all' }).waitFor();
  await tab('Stats & health');
  await page.locator('#health-list li').first().waitFor();
  await shot('09-dlq-stats');
  assert.deepEqual(problems, []);
});

test('break payments from the UI, dead-letter an order, fix it and re-drive it to paid', async (t) => {
  const probe = await page.request.get(`${baseUrl}/api/faults`);
  if (probe.status() === 404) { t.skip('this binary has no fault-injection API (GET /api/faults → 404)'); return; }
  assert.equal(probe.status(), 200);
  await tab('Live flow');
  await page.locator('#break-it summary').click();
  const toggle = page.locator('#fault-payments');
  await page.locator('#fault-payments:not([disabled])').waitFor();
  try {
    await toggle.click();
    await page.locator('#fault-payments[aria-pressed=true]').waitFor();
    await page.locator('[data-testid=diagram] [data-node=payments].faulty').waitFor();
    const order = await createOrderFromPanel();

    // The delivery of ORDER_CREATED to payments fails twice, then is dead-lettered.
    await tab('Live flow');
    await poll('a dead letter on the orders → payments edge', async () => (await edgeCounts())['orders>payments'].dead > 0);
    await shot('12-break-it', false);
    await tab('Dead letters');
    const row = page.locator(`#dlq-body tr[data-event-type=ORDER_CREATED]`).filter({ hasText: order.orderId.slice(0, 12) });
    await poll('the dead letter in the Dead letters view', async () => {
      if (await row.count()) return true;
      await page.click('#refresh-dlq');
      return false;
    });
    assert.match(await row.locator('td.reason').textContent(), /injected fault/);
    await shot('13-dead-letter');
    // Its order is stuck: the swim-lane says where.
    await row.getByRole('button', { name: `Show timeline of order ${order.orderId}` }).click();
    await page.locator('#timeline-view [data-testid=order-status]', { hasText: /^pending$/ }).waitFor();
    await page.locator('#timeline-view [data-lane=payments] td[data-event-type=ORDER_CREATED] [data-status=dead_lettered]').waitFor();
    await page.locator('#timeline-view [data-testid=pending-payments] .stuck', { hasText: 'dead-lettered' }).waitFor();
    await shot('14-swimlane-blocked');

    // Fix payments, then re-drive: dry run of the filter first, then the retry it allows.
    await tab('Live flow');
    await toggle.click();
    await page.locator('#fault-payments[aria-pressed=false]').waitFor();
    await page.locator('[data-testid=diagram] [data-node=payments]:not(.faulty)').waitFor();
    await tab('Dead letters');
    assert.equal(await page.isDisabled('#retry-filtered'), true);
    const queue = await page.$eval('#dlq-queue', (s) => [...s.options].find((o) => /payments/.test(o.textContent)).value);
    await page.selectOption('#dlq-queue', queue);
    await page.fill('#dlq-type', 'ORDER_CREATED');
    await page.click('#dryrun-dlq');
    await page.locator('#dlq-result', { hasText: '"dryRun": true' }).waitFor();
    await page.locator('#retry-filtered:not([disabled])').waitFor();
    await page.click('#retry-filtered');
    await page.locator('#dlq-result', { hasText: '"dryRun": false' }).waitFor();
    assert.match(await page.textContent('#dlq-result'), /"moved": 1\b/);
    await poll('the dead letter to be gone', async () => (await row.count()) === 0);

    // The re-driven ORDER_CREATED reaches payments: the order shown in the Timeline tab
    // refreshes itself to paid.
    await tab('Timeline');
    await page.locator('#timeline-view [data-testid=order-status]', { hasText: /^paid$/ }).waitFor();
    assert.equal(await page.locator('#timeline-view').getAttribute('data-order-id'), order.orderId);
    await page.locator('#timeline-view [data-lane=payments] td[data-event-type=ORDER_CREATED] [data-status=dead_lettered]').waitFor();
    await page.locator('#timeline-view [data-lane=payments] td[data-event-type=ORDER_CREATED] [data-status=consumed]').waitFor();
    await page.locator('#timeline-view [data-lane=orders] td[data-outcome=paid]').waitFor();
    await shot('15-redriven-paid');
  } finally {
    await page.request.delete(`${baseUrl}/api/faults/payments`).catch(() => {});
  }
  assert.deepEqual(problems, []);
});
