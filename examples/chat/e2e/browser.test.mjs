// End-to-end test of the chat page in headless Chromium, driven by
// playwright-core (which never downloads a browser: it runs the system's
// chromium). Run through examples/chat/e2e_test.go (TestE2EBrowser), which
// starts the server and sets CHAT_URL and CHROMIUM_PATH.
//
// alice and bob, each in a browser context of their own (own cookies),
// log in on the page at / and chat in "general" over each of the four
// strategies, both ways; carol's page connecting to "secret" shows the
// 4403 close code and its reason. With CHAT_SCREENSHOT=path, a screenshot
// of alice's page mid-chat is written there (docs/chat.png in the repo).
//
// The page is driven by the element ids documented at the top of
// examples/chat/static/index.html.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { chromium } from 'playwright-core';

import { baseURL, STRATEGIES } from './lib.mjs';

const base = baseURL('CHAT_URL');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const screenshot = process.env.CHAT_SCREENSHOT;

// WAIT bounds each wait for the page (a status line, a message).
const WAIT = 10_000;

// Chromium running as root in a container: no sandbox, and nothing that
// reaches out to the network on its own. playwright-core passes a fresh
// --user-data-dir per launch.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser;
const pages = {}; // user name → Page, logged in
const sockets = {}; // user name → the page's WebSockets, in order (Playwright's view)
const consoleErrors = []; // page errors, reported on failure

before(async () => {
  browser = await chromium.launch({ executablePath, headless: true, chromiumSandbox: false, args: ARGS, timeout: 30_000 });
  for (const user of ['alice', 'bob', 'carol']) {
    pages[user] = await openPage(user);
  }
});

after(async () => {
  await browser?.close();
});

// openPage opens the chat in a fresh browser context (its own cookie jar)
// and logs user in through the form.
async function openPage(user) {
  const context = await browser.newContext({ viewport: { width: 900, height: 780 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  sockets[user] = [];
  page.on('websocket', (ws) => sockets[user].push(ws));
  page.on('pageerror', (err) => consoleErrors.push(`${user}: pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`${user}: console: ${msg.text()}`);
  });
  const res = await page.goto(base + '/');
  assert.equal(res.status(), 200, `GET / as ${user}`);
  await page.fill('#login-username', user);
  await page.fill('#login-password', user);
  await page.click('#login-button');
  await expectText(page, '#user', new RegExp(`logged in as ${user}\\b`), user);
  return page;
}

// expectText waits until the element's text matches re, and fails with
// what it shows instead.
async function expectText(page, selector, re, who) {
  try {
    await page.locator(selector).filter({ hasText: re }).waitFor({ timeout: WAIT });
  } catch (err) {
    const shown = await page.locator(selector).textContent().catch(() => '(gone)');
    throw new Error(
      `${who}: ${selector} does not match ${re} within ${WAIT} ms; it shows ${JSON.stringify(shown)}` +
        (consoleErrors.length ? `\npage errors:\n${consoleErrors.join('\n')}` : ''),
      { cause: err },
    );
  }
}

// connect picks strategy and room on user's page and clicks Connect. If the
// page is connected, it first clicks Disconnect and waits for the page to
// show that (switching while connected has a test of its own below).
async function connect(user, strategy, room) {
  const page = pages[user];
  if (/^\s*connected\b/.test(await page.locator('#status').textContent())) {
    await page.click('#disconnect-button');
    await expectText(page, '#status', /^\s*(closed|disconnected|not connected)\b/, user);
  }
  await page.selectOption('#strategy', strategy);
  await page.selectOption('#room', room);
  await page.click('#connect-button');
}

async function expectConnected(user, strategy, room) {
  await expectText(pages[user], '#status', new RegExp(`^\\s*connected as ${user} to ${room} via ${strategy}\\b`), user);
}

// say types text into user's message box and sends it.
async function say(user, text) {
  const page = pages[user];
  await page.fill('#message-input', text);
  await page.click('#send-button');
}

// expectMessage waits until user's page lists text from from.
async function expectMessage(user, from, text) {
  const page = pages[user];
  const item = page.locator('#messages .message').filter({ hasText: text });
  try {
    await item.first().waitFor({ timeout: WAIT });
  } catch (err) {
    const shown = await page.locator('#messages .message').allTextContents();
    const status = await page.locator('#status').textContent();
    throw new Error(
      `${user}: no message ${JSON.stringify(text)} within ${WAIT} ms; status ${JSON.stringify(status)}; messages ${JSON.stringify(shown)}` +
        (consoleErrors.length ? `\npage errors:\n${consoleErrors.join('\n')}` : ''),
      { cause: err },
    );
  }
  const el = item.first();
  const fromText = (await el.locator('.from').count()) ? await el.locator('.from').textContent() : await el.textContent();
  assert.match(fromText, new RegExp(`\\b${from}\\b`), `${user}: message ${JSON.stringify(text)} is not from ${from}`);
  const textText = (await el.locator('.text').count()) ? await el.locator('.text').textContent() : await el.textContent();
  assert.ok(textText.includes(text), `${user}: message text ${JSON.stringify(textText)}`);
}

describe('alice and bob chat in general', () => {
  for (const strategy of STRATEGIES) {
    test(`over ${strategy}`, async () => {
      await Promise.all([connect('alice', strategy, 'general'), connect('bob', strategy, 'general')]);
      await Promise.all([expectConnected('alice', strategy, 'general'), expectConnected('bob', strategy, 'general')]);

      // Each sees its own hello come back: it is in the room. (The server
      // sends every message to the whole room, the sender included.)
      await say('alice', `alice is here (${strategy})`);
      await expectMessage('alice', 'alice', `alice is here (${strategy})`);
      await say('bob', `bob is here (${strategy})`);
      await expectMessage('bob', 'bob', `bob is here (${strategy})`);

      const hi = `Hi Bob! This one went over ${strategy}.`;
      await say('alice', hi);
      await expectMessage('bob', 'alice', hi);

      const back = `Hi Alice, got it over ${strategy} too.`;
      await say('bob', back);
      await expectMessage('alice', 'bob', back);

      if (screenshot && strategy === STRATEGIES[STRATEGIES.length - 1]) {
        mkdirSync(dirname(screenshot), { recursive: true });
        await pages.alice.screenshot({ path: screenshot, fullPage: true });
      }
    });
  }
});

describe('carol is refused from secret', () => {
  for (const strategy of STRATEGIES) {
    test(`over ${strategy}: the page shows 4403 and the reason`, async () => {
      await connect('carol', strategy, 'secret');
      await expectText(pages.carol, '#status', /closed 4403 \S/, 'carol');
    });
  }
});

describe('switching while connected', () => {
  test('Connect on a connected page replaces the connection, and the status stays "connected"', async () => {
    await connect('alice', 'query', 'general');
    await expectConnected('alice', 'query', 'general');
    const old = sockets.alice.at(-1);
    assert.ok(old && !old.isClosed(), 'no open WebSocket on the page');

    // No Disconnect: pick another strategy and click Connect.
    const page = pages.alice;
    await page.selectOption('#strategy', 'jwt');
    await page.click('#connect-button');
    await expectConnected('alice', 'jwt', 'general');
    if (!old.isClosed()) await old.waitForEvent('close', { timeout: WAIT });

    // The old connection's close has reached the page; a round trip on
    // the new one gives the page time to act on it.
    await say('alice', 'still here after switching');
    await expectMessage('alice', 'alice', 'still here after switching');
    const status = await page.locator('#status').textContent();
    assert.match(status, /^\s*connected as alice to general via jwt\b/, 'the old connection\'s close overwrote the status of the new one');
    assert.equal(sockets.alice.filter((ws) => !ws.isClosed()).length, 1, 'open WebSockets on the page');
  });
});
