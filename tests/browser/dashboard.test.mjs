// Browser tests of the shopflow dashboard (web/), served by the shopflow binary at /.
//
//   SHOPFLOW_BINARY=build/src/app/shopflow node --test tests/browser/dashboard.test.mjs
//
// Env: SHOPFLOW_BINARY (required unless SHOPFLOW_URL points at a running server),
//      SHOPFLOW_SCREENSHOTS (default ../../build/screenshots, relative to this file),
//      CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, process.env.SHOPFLOW_SCREENSHOTS || '../../build/screenshots');
const TIMEOUT = 20000;

let server; let baseUrl; let dataDir; let browser; let page;
const problems = [];  // console errors and page errors

async function poll(what, fn, timeoutMs = TIMEOUT) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startServer() {
  const binary = process.env.SHOPFLOW_BINARY;
  assert.ok(binary, 'set SHOPFLOW_BINARY to the shopflow binary (or SHOPFLOW_URL)');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-browser-'));
  const logPath = path.join(dataDir, 'server.log');
  const log = fs.openSync(logPath, 'w');  // a file, not a pipe: nothing to drain
  server = spawn(binary, ['serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = null;
  server.on('exit', (code, signal) => { exited = `exited with ${code ?? signal}`; });
  const port = await poll('"listening on" in the server log', () => {
    if (exited) throw new Error(`shopflow ${exited}:\n${fs.readFileSync(logPath, 'utf8')}`);
    const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(fs.readFileSync(logPath, 'utf8'));
    return m && Number(m[1]);
  }, 30000);
  return `http://127.0.0.1:${port}`;
}

async function shot(name) {
  fs.mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

async function tab(name) {
  await page.getByRole('tab', { name }).click();
}

before(async () => {
  baseUrl = process.env.SHOPFLOW_URL || await startServer();
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
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
    await gone; clearTimeout(timer);
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the page loads with its sections, live stream and no console errors', async () => {
  const res = await page.goto(baseUrl + '/');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /text\/html/);
  for (const name of ['Live flow', 'Test panel', 'Scenarios', 'Timeline', 'Stats & health', 'Dead letters']) {
    await page.getByRole('tab', { name }).waitFor();
  }
  await page.locator('#ws-status', { hasText: 'live' }).waitFor();
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
