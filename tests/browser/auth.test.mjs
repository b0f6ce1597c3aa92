// Browser tests of the dashboard's sign-in (issue 8): a server with authentication on, tokens
// minted by `shopflow token`, and what each role sees.
//
//   SHOPFLOW_BINARY=build/src/app/shopflow node --test tests/browser/auth.test.mjs
//
// Env: SHOPFLOW_BINARY (required), SHOPFLOW_SCREENSHOTS (default ../../build/screenshots,
//      relative to this file), CHROMIUM (default /usr/bin/chromium).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ShopflowServer, TIMEOUT, poll } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, process.env.SHOPFLOW_SCREENSHOTS || '../../build/screenshots');
const binary = process.env.SHOPFLOW_BINARY;
// The server and `shopflow token` share the secret: tokens minted here are valid there.
const env = {
  ...process.env, SHOPFLOW_AUTH: 'on', SHOPFLOW_JWT_SECRET: crypto.randomBytes(48).toString('base64'),
  SHOPFLOW_RETRY_MAX_ATTEMPTS: '2', SHOPFLOW_RETRY_INITIAL_DELAY_MS: '50',
};
const ALL_TABS = ['Live flow', 'Test panel', 'Scenarios', 'Timeline', 'Stats & health', 'Dead letters'];

const server = new ShopflowServer({ binary, env, dataDirPrefix: 'shopflow-browser-auth-' });
let baseUrl; let browser;
let context; let page; let problems; let sockets; let requests;

function mint(role, sub, secret = env.SHOPFLOW_JWT_SECRET) {
  return execFileSync(binary, ['token', '--role', role, '--sub', sub, '--ttl', '10m'],
    { env: { ...env, SHOPFLOW_JWT_SECRET: secret }, encoding: 'utf8' }).trim();
}

// The API as admin, outside the page (setting up data the page's role may not create).
let adminToken = '';
const admin = () => ({ Authorization: `Bearer ${adminToken ||= mint('admin', 'test-admin')}` });
async function adminCall(method, urlPath, data) {
  const res = await page.request.fetch(baseUrl + urlPath, { method, headers: admin(), data });
  assert.ok(res.ok(), `${method} ${urlPath} → ${res.status()} ${await res.text()}`);
  return res.status() === 204 ? null : res.json();
}

// A dead letter, made by breaking payments (reject: dead-lettered at once) for one order.
async function deadLetter() {
  if ((await adminCall('GET', '/api/dlq')).total > 0) return;
  await adminCall('PUT', '/api/faults/payments', { mode: 'reject' });
  try {
    const product = await adminCall('POST', '/api/inventory/products', { name: 'DLQ widget', sku: `DLQ-${Date.now()}`, price: 5, stock: 5 });
    await adminCall('POST', '/api/orders', { customerId: 'dlq-customer', items: [{ productId: product.productId, quantity: 1 }], paymentMethod: 'credit_card', paymentDetails: { cardNumber: '4242424242424242' } });
    await poll('a dead letter', async () => (await adminCall('GET', '/api/dlq')).total > 0);
  } finally {
    await adminCall('DELETE', '/api/faults/payments');
  }
}

async function shot(name, fullPage = true) {
  fs.mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage });
}

// Whether a console error is Chromium's own line for an expected 401 answer of whoami (a refused
// credential must be a 401, and Chromium logs every 4xx resource as a console error).
const expected401 = (p) => /status of 401/.test(p) && p.includes('/api/auth/whoami');

async function visibleTabs() {
  return page.locator('[role=tab]:visible').allTextContents();
}

async function signIn(credential) {
  await page.goto(baseUrl + '/');
  const input = page.locator('#signin-credential');
  await input.waitFor();
  // Keyboard only: the field has the focus, Enter submits.
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'signin-credential');
  await page.keyboard.insertText(credential);
  await page.keyboard.press('Enter');
}

before(async () => {
  baseUrl = await server.start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

// Each test is a fresh tab: nothing signed in yet.
async function freshPage() {
  context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  page = await context.newPage();
  problems = []; sockets = []; requests = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url || 'no url'})`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('request', (req) => { if (new URL(req.url()).pathname.startsWith('/api/')) requests.push(new URL(req.url()).pathname); });
}

afterEach(async () => {
  if (context) await context.close();
  context = null;
});

after(async () => {
  if (browser) await browser.close();
  await server.stop();
});

test('with authentication on the page asks to sign in, and asks the API nothing else', async () => {
  await freshPage();
  await page.goto(baseUrl + '/');
  await page.locator('#signin-credential').waitFor();
  await page.locator('#auth-status', { hasText: 'signed out' }).waitFor();
  assert.deepEqual(await visibleTabs(), []);
  assert.equal(await page.locator('main').isVisible(), false);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'signin-credential');
  assert.deepEqual(requests, ['/api/auth/whoami']);
  assert.deepEqual(sockets, []);
  await shot('auth-01-sign-in');
  assert.deepEqual(problems, []);
});

test('a bad token shows an error and stays signed out', async () => {
  await freshPage();
  await signIn(mint('admin', 'mallory', crypto.randomBytes(48).toString('base64')));  // another secret
  await page.locator('#signin-error', { hasText: 'Not signed in' }).waitFor();
  await page.locator('#auth-status', { hasText: 'signed out' }).waitFor();
  await page.keyboard.insertText('not-a-key-at-all');
  await page.keyboard.press('Enter');
  await page.locator('#signin-error', { hasText: 'invalid API key' }).waitFor();
  assert.deepEqual(await visibleTabs(), []);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(sockets, []);
  await shot('auth-02-bad-token');
  assert.ok(problems.length > 0 && problems.every(expected401), problems.join('\n'));
});

test('an operator sees live events over the WebSocket and no admin-only controls', async () => {
  await freshPage();
  await deadLetter();
  const token = mint('operator', 'olga');
  await signIn(token);
  await page.locator('#auth-status', { hasText: 'signed in as olga (operator)' }).waitFor();
  await page.locator('#ws-status', { hasText: 'live' }).waitFor();
  assert.deepEqual(await visibleTabs(), ALL_TABS);
  // Kept for the tab only, and sent as a subprotocol: the credential is in no URL.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('shopflow.credential')), token);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.ok(sockets.length > 0 && sockets.every((u) => !u.includes('access_token')), sockets.join(' '));

  // An order made in the test panel: its events arrive over the stream.
  await page.getByRole('tab', { name: 'Test panel' }).click();
  await page.click('#send-create-product');
  await page.locator('#resp-create-product', { hasText: '→ 201' }).waitFor();
  await page.click('#send-create-order');
  await page.locator('#resp-create-order', { hasText: '→ 201' }).waitFor();
  const order = JSON.parse((await page.textContent('#resp-create-order')).split('\n').slice(1).join('\n'));
  for (const id of ['send-update-order-status', 'send-add-stock', 'send-reserve-stock', 'send-process-payment']) {
    assert.ok(await page.locator(`#${id}`).isVisible(), `${id} is shown`);
  }
  for (const id of ['send-update-payment-status', 'send-send-email', 'send-send-push']) {
    assert.equal(await page.locator(`#${id}`).isVisible(), false, `${id} is hidden`);
  }
  await page.getByRole('tab', { name: 'Live flow' }).click();
  assert.equal(await page.locator('#break-it').isVisible(), false, 'Break it is hidden');
  await page.fill('#f-corr', order.metadata.correlationId);
  for (const type of ['ORDER_CREATED', 'PAYMENT_SUCCEEDED']) {
    await page.locator(`#flow-body tr[data-event-type="${type}"]:not([hidden])`).first().waitFor();
  }
  await shot('auth-03-operator-live');

  // Dead letters: an operator re-drives but does not discard.
  await page.getByRole('tab', { name: 'Dead letters' }).click();
  const row = page.locator('#dlq-body tr[data-message-id]').first();
  await row.waitFor();
  assert.ok(await row.getByRole('button', { name: /^Retry / }).isVisible());
  assert.equal(await row.getByRole('button', { name: /^Discard / }).isVisible(), false);
  await shot('auth-04-operator-dlq');
  assert.deepEqual(problems, []);
});

test('an admin sees the admin-only controls, and signs out', async () => {
  await freshPage();
  await deadLetter();
  await signIn(mint('admin', 'ada'));
  await page.locator('#auth-status', { hasText: 'signed in as ada (admin)' }).waitFor();
  await page.locator('#ws-status', { hasText: 'live' }).waitFor();
  assert.deepEqual(await visibleTabs(), ALL_TABS);
  await page.locator('#break-it').waitFor();
  await page.getByRole('tab', { name: 'Test panel' }).click();
  for (const id of ['send-update-payment-status', 'send-send-email', 'send-send-push', 'send-create-product']) {
    assert.ok(await page.locator(`#${id}`).isVisible(), `${id} is shown`);
  }
  await page.getByRole('tab', { name: 'Dead letters' }).click();
  await page.locator('#dlq-body tr[data-message-id]').first().getByRole('button', { name: /^Discard / }).waitFor();
  await shot('auth-05-admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#signin-credential').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(await visibleTabs(), []);
  assert.deepEqual(problems, []);
});

test('a customer sees only what a customer may, and orders for itself', async () => {
  await freshPage();
  await adminCall('POST', '/api/inventory/products', { name: 'Catalog widget', sku: `CAT-${Date.now()}`, price: 12, stock: 50 });
  await signIn(mint('customer', 'cust-7'));
  await page.locator('#auth-status', { hasText: 'signed in as cust-7 (customer)' }).waitFor();
  assert.deepEqual(await visibleTabs(), ['Test panel']);
  await page.locator('#send-create-order').waitFor();
  const shown = await page.locator('#actions article:visible h3').allTextContents();
  assert.deepEqual(shown.map((t) => t.replace(/^\w+\s+/, '')), ['Create order', 'Process payment']);
  assert.equal(await page.locator('#ws-status').isVisible(), false);
  assert.deepEqual(sockets, [], 'no WebSocket: /ws needs operator');
  // The body is ready for this customer: its own id and a product of the catalog.
  await poll('the catalog product in the order body', async () => !/create a product first/.test(await page.inputValue('#body-create-order')));
  await page.click('#send-create-order');
  await page.locator('#resp-create-order', { hasText: '→ 201' }).waitFor();
  assert.match(await page.textContent('#resp-create-order'), /"customerId": "cust-7"/);
  await shot('auth-06-customer');
  assert.deepEqual(problems, []);
});

test('a 401 in the middle of a session asks to sign in again', async () => {
  await freshPage();
  await signIn(mint('operator', 'olga'));
  await page.locator('#auth-status', { hasText: 'signed in as olga (operator)' }).waitFor();
  // As if the token had expired: the next API answer is a 401.
  await page.route('**/api/stats', (route) => route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"unauthorized","message":"token expired"}}' }));
  await page.getByRole('tab', { name: 'Stats & health' }).click();  // loads /api/stats
  await page.locator('#signin-error', { hasText: 'session ended' }).waitFor();
  await page.locator('#ws-status', { hasText: 'off' }).waitFor({ state: 'attached' });
  assert.deepEqual(await visibleTabs(), []);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.unroute('**/api/stats');
  // The same operator again: the dashboard comes back where it was, with its stream.
  await page.keyboard.insertText(mint('operator', 'olga'));
  await page.keyboard.press('Enter');
  await page.locator('#auth-status', { hasText: 'signed in as olga (operator)' }).waitFor();
  await page.locator('#tab-stats[aria-selected=true]').waitFor();
  await page.locator('#ws-status', { hasText: 'live' }).waitFor();
  assert.ok(problems.every((p) => /status of 401/.test(p) && p.includes('/api/stats')), problems.join('\n'));
});
