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
// With CHAT_JWT_TTL_SECONDS=N (the server's -jwt-ttl, a few seconds), a
// page connected with an access token (first-message, jwt) stays
// connected, and chatting, past the first token's expiry: wsauth.js
// refreshes it in place when the server says {"type":"expiring"}. Last,
// alice logs out on one page, which closes her other page's connection
// with 4401 "logged out", while bob chats on.
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
// jwtTTL is the server's access token lifetime in seconds, if short.
const jwtTTL = Number(process.env.CHAT_JWT_TTL_SECONDS || 0);

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
// Pages are named by key: a user name, or a user name and a digit for
// another page of the same user ("alice2").
const pages = {}; // key → Page, logged in
// key → the page's WebSockets, in order (Playwright's view), each as
// {ws, sent, received}: the payloads of its frames.
const sockets = {};
const consoleErrors = []; // page errors, reported on failure

// userOf returns the user name of a page key.
const userOf = (key) => key.replace(/\d+$/, '');

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
  const page = await newPage(context, user);
  await page.fill('#login-username', user);
  await page.fill('#login-password', user);
  await page.click('#login-button');
  await expectText(page, '#user', new RegExp(`logged in as ${user}\\b`), user);
  return page;
}

// newPage opens the chat in context as page key, watching its WebSockets.
async function newPage(context, key) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  sockets[key] = [];
  page.on('websocket', (ws) => {
    const rec = { ws, sent: [], received: [] };
    ws.on('framesent', (f) => rec.sent.push(f.payload));
    ws.on('framereceived', (f) => rec.received.push(f.payload));
    sockets[key].push(rec);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${key}: pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`${key}: console: ${msg.text()}`);
  });
  const res = await page.goto(base + '/');
  assert.equal(res.status(), 200, `GET / as ${key}`);
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

// connect picks strategy, credential (for subprotocol and first-message:
// 'ticket' or 'access') and room on a page and clicks Connect. If the page
// is connected, it first clicks Disconnect and waits for the page to show
// that (switching while connected has a test of its own below).
async function connect(key, strategy, room, credential = 'ticket') {
  const page = pages[key];
  if (/^\s*connected\b/.test(await page.locator('#status').textContent())) {
    await page.click('#disconnect-button');
    await expectText(page, '#status', /^\s*(closed|disconnected|not connected)\b/, key);
  }
  await page.selectOption('#strategy', strategy);
  if (strategy === 'subprotocol' || strategy === 'first-message') await page.selectOption('#credential', credential);
  await page.selectOption('#room', room);
  await page.click('#connect-button');
}

async function expectConnected(key, strategy, room) {
  await expectText(pages[key], '#status', new RegExp(`^\\s*connected as ${userOf(key)} to ${room} via ${strategy}\\b`), key);
}

// say types text into a page's message box and sends it.
async function say(key, text) {
  const page = pages[key];
  await page.fill('#message-input', text);
  await page.click('#send-button');
}

// expectMessage waits until a page lists text from from.
async function expectMessage(key, from, text) {
  const page = pages[key];
  const user = key;
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
    const old = sockets.alice.at(-1)?.ws;
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
    assert.equal(sockets.alice.filter(({ ws }) => !ws.isClosed()).length, 1, 'open WebSockets on the page');
  });
});

// expOf returns the "exp" (Unix seconds) of a JWT.
function expOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).exp;
}

// credentialOf returns the credential in the first frame a page sent on a
// socket: the auth frame of first-message, or the first envelope of jwt.
function credentialOf(rec) {
  assert.ok(rec.sent.length > 0, 'the page sent nothing on its socket');
  return JSON.parse(rec.sent[0]).token;
}

// watchStatus records every text #status shows from now on.
async function watchStatus(page) {
  await page.evaluate(() => {
    const el = document.getElementById('status');
    window.statusSeen = [];
    new MutationObserver(() => window.statusSeen.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  });
}

describe('refresh in place', { skip: !(jwtTTL > 0 && jwtTTL <= 10) && 'needs a server with a short -jwt-ttl (CHAT_JWT_TTL_SECONDS)' }, () => {
  for (const [strategy, label] of [['first-message', 'first-message with an access token'], ['jwt', 'jwt']]) {
    test(`over ${label}: still connected and chatting past the first token's expiry`, async () => {
      await Promise.all([connect('alice', strategy, 'general', 'access'), connect('bob', 'query', 'general')]);
      await Promise.all([expectConnected('alice', strategy, 'general'), expectConnected('bob', 'query', 'general')]);
      const page = pages.alice;
      await watchStatus(page);
      const rec = sockets.alice.at(-1);
      const firstExp = expOf(credentialOf(rec)) * 1000;
      assert.ok(firstExp - Date.now() <= jwtTTL * 1000, `the first token expires in ${firstExp - Date.now()} ms, more than -jwt-ttl`);

      // Wait for one refresh after another (each is the page's answer to
      // the server's expiring notice) until the first token has expired.
      let n = 0;
      while (n === 0 || Date.now() < firstExp + 500) {
        n++;
        await expectText(page, '#status', new RegExp(`token refreshed ${n}×`), 'alice');
      }

      const text = `alice after ${n} refreshes over ${strategy}`;
      await say('alice', text);
      await expectMessage('bob', 'alice', text);
      await expectMessage('alice', 'alice', text);

      assert.equal(sockets.alice.at(-1), rec, 'the page opened another WebSocket');
      assert.ok(!rec.ws.isClosed(), 'the WebSocket closed');
      const seen = await page.evaluate(() => window.statusSeen);
      assert.ok(!seen.some((t) => /closed|error|failed/.test(t)), `the status showed ${JSON.stringify(seen)}`);
      assert.match(await page.locator('#status').textContent(), new RegExp(`^\\s*connected as alice to general via ${strategy} · token refreshed \\d+×`));
      // What went over the wire: expiring notices, and the page's answers.
      const received = rec.received.map((p) => JSON.parse(p));
      assert.ok(received.some((f) => f.type === 'expiring' && f.in >= 1), `no expiring notice in ${JSON.stringify(received)}`);
      const sent = rec.sent.slice(1).map((p) => JSON.parse(p));
      if (strategy === 'jwt') {
        const tokens = new Set(sent.map((f) => f.token));
        assert.ok(tokens.size >= 2, 'the envelopes carried no fresh token');
      } else {
        assert.ok(sent.filter((f) => f.type === 'refresh').length >= n, `refresh frames: ${JSON.stringify(sent.map((f) => f.type))}`);
        assert.ok(received.filter((f) => f.type === 'auth_ok').length >= n + 1, 'auth_ok frames');
      }
      // Nothing of wsauth's reached the message list.
      assert.ok(!(await page.locator('#messages .message').allTextContents()).some((t) => /expiring|auth_ok/.test(t)));
    });
  }
});

describe('logout', () => {
  test('closes every connection of alice, on her other page too, with 4401 "logged out"; bob chats on', async () => {
    // A second tab of alice: the same browser context, so the same
    // session cookie logs it in.
    pages.alice2 = await newPage(pages.alice.context(), 'alice2');
    await expectText(pages.alice2, '#user', /logged in as alice\b/, 'alice2');

    await Promise.all([
      connect('alice', 'first-message', 'general', 'ticket'),
      connect('alice2', 'jwt', 'general'),
      connect('bob', 'subprotocol', 'general', 'access'),
    ]);
    await Promise.all([
      expectConnected('alice', 'first-message', 'general'),
      expectConnected('alice2', 'jwt', 'general'),
      expectConnected('bob', 'subprotocol', 'general'),
    ]);
    const hello = 'alice2 is here before logging out';
    await say('alice2', hello);
    await Promise.all([expectMessage('alice', 'alice', hello), expectMessage('bob', 'alice', hello)]);

    await pages.alice.click('#logout-button');
    for (const key of ['alice', 'alice2']) {
      await expectText(pages[key], '#status', /^\s*closed 4401 logged out\s*$/, key);
      // Back to the login form: this page logged out, the other one finds
      // its session gone.
      await pages[key].locator('#login-username').waitFor({ state: 'visible' });
      await expectText(pages[key], '#user', /not logged in/, key);
      assert.ok(await pages[key].locator('#logout-button').isHidden(), `${key}: the logout button is still shown`);
    }
    for (const key of ['alice', 'alice2']) {
      assert.ok(sockets[key].every(({ ws }) => ws.isClosed()), `${key}: a WebSocket is still open`);
    }

    const after = 'bob, still here after alice left';
    await say('bob', after);
    await expectMessage('bob', 'bob', after);
    await expectConnected('bob', 'subprotocol', 'general');

    // Connecting again needs a login.
    await pages.alice.selectOption('#strategy', 'query');
    await pages.alice.click('#connect-button');
    await expectText(pages.alice, '#status', /^\s*error: /, 'alice');
  });
});
