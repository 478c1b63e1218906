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
// connected, and chatting, past the first token's expiry: the client
// (transport/js, served as /wsauth.js) refreshes it in place when the
// server says {"type":"expiring"}. With
// CHAT_CONTROL_URL (the Go test's, which can restart the chat on the same
// port), alice's and bob's pages reconnect by themselves after a restart,
// each with a fresh credential. Last, alice logs out on one page, which
// closes her other page's connection with 4401 "logged out", while bob
// chats on.
//
// The page is driven by the element ids documented at the top of
// examples/chat/static/index.html.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
  const users = ['alice', 'bob', 'carol'];
  (await Promise.all(users.map(openPage))).forEach((page, i) => {
    pages[users[i]] = page;
  });
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
  await front(page);
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

// front brings a page to the front when it shares its browser context
// with another one: Chromium throttles the animation frames of a page
// behind another, and every Playwright action waits for two of them (its
// "stable" check), a second or more each.
async function front(page) {
  if (page.context().pages().length > 1) await page.bringToFront();
}

// say types text into a page's message box and sends it.
async function say(key, text) {
  const page = pages[key];
  await front(page);
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

// alice and bob at once, each on one strategy: waiting past a token's
// expiry is most of the test's time.
describe('refresh in place', { skip: !(jwtTTL > 0 && jwtTTL <= 10) && 'needs a server with a short -jwt-ttl (CHAT_JWT_TTL_SECONDS)', concurrency: true }, () => {
  for (const [key, strategy, label] of [['alice', 'first-message', 'first-message with an access token'], ['bob', 'jwt', 'jwt']]) {
    test(`over ${label}: still connected and chatting past the first token's expiry`, async () => {
      await connect(key, strategy, 'general', 'access');
      await expectConnected(key, strategy, 'general');
      const page = pages[key];
      await watchStatus(page);
      const rec = sockets[key].at(-1);
      const firstExp = expOf(credentialOf(rec)) * 1000;
      assert.ok(firstExp - Date.now() <= jwtTTL * 1000, `the first token expires in ${firstExp - Date.now()} ms, more than -jwt-ttl`);

      // Wait for one refresh after another (each is the page's answer to
      // the server's expiring notice) until the first token has expired.
      let n = 0;
      while (n === 0 || Date.now() < firstExp + 500) {
        n++;
        await expectText(page, '#status', new RegExp(`token refreshed ${n}×`), key);
      }

      // Its own message back: the server took it, from key, after the
      // first token expired.
      const text = `${key} after ${n} refreshes over ${strategy}`;
      await say(key, text);
      await expectMessage(key, key, text);

      assert.equal(sockets[key].at(-1), rec, 'the page opened another WebSocket');
      assert.ok(!rec.ws.isClosed(), 'the WebSocket closed');
      const seen = await page.evaluate(() => window.statusSeen);
      assert.ok(!seen.some((t) => /closed|error|failed/.test(t)), `the status showed ${JSON.stringify(seen)}`);
      assert.match(await page.locator('#status').textContent(), new RegExp(`^\\s*connected as ${key} to general via ${strategy} · token refreshed \\d+×`));
      // What went over the wire: expiring notices, and the page's answers.
      const received = rec.received.map((p) => JSON.parse(p));
      assert.ok(received.some((f) => f.type === 'expiring' && f.in >= 1), `no expiring notice in ${JSON.stringify(received)}`);
      // On both strategies a refresh frame, answered with auth_ok; on jwt
      // also the keep-alive (never an envelope the chat would see), and
      // the envelope after it carries the fresh token.
      const sent = rec.sent.slice(1).map((p) => JSON.parse(p));
      assert.ok(sent.filter((f) => f.type === 'refresh').length >= n, `refresh frames: ${JSON.stringify(sent.map((f) => f.type ?? 'data'))}`);
      assert.ok(received.filter((f) => f.type === 'auth_ok').length >= n + 1, 'auth_ok frames');
      if (strategy === 'jwt') {
        const envelopes = sent.filter((f) => 'data' in f);
        assert.deepEqual(envelopes.map((f) => f.data), [{ text }], 'envelopes after the first');
        assert.notEqual(envelopes[0].token, credentialOf(rec), 'the envelope after the refreshes carried the first token');
      }
      // Nothing of wsauth's reached the message list.
      assert.ok(!(await page.locator('#messages .message').allTextContents()).some((t) => /expiring|auth_ok/.test(t)));
    });
  }
});

// controlURL restarts the chat: POST /restart stops the process (its
// connections close with 1001) and starts a new one on the same address,
// and answers once that one listens (examples/chat/e2e_test.go).
const controlURL = process.env.CHAT_CONTROL_URL;

describe('a server restart', { skip: !controlURL && 'needs CHAT_CONTROL_URL: run through go test, with redis-server installed' }, () => {
  test('the pages reconnect by themselves, each with a fresh credential, and chat on', async () => {
    await Promise.all([connect('alice', 'query', 'general'), connect('bob', 'first-message', 'general', 'access')]);
    await Promise.all([expectConnected('alice', 'query', 'general'), expectConnected('bob', 'first-message', 'general')]);
    const old = { alice: sockets.alice.at(-1), bob: sockets.bob.at(-1) };
    const oldTicket = new URL(old.alice.ws.url()).searchParams.get('ticket');
    const oldToken = credentialOf(old.bob);
    await Promise.all([watchStatus(pages.alice), watchStatus(pages.bob)]);

    const res = await fetch(controlURL + '/restart', { method: 'POST' });
    assert.equal(res.status, 204, `POST /restart: ${await res.text()}`);

    for (const [key, strategy] of [['alice', 'query'], ['bob', 'first-message']]) {
      const page = pages[key];
      // The page went through "reconnecting…" and is connected again.
      try {
        await page.waitForFunction(
          () => {
            const i = window.statusSeen.findIndex((t) => t.startsWith('reconnecting'));
            return i >= 0 && window.statusSeen.slice(i).some((t) => t.startsWith('connected'));
          },
          undefined,
          { timeout: WAIT },
        );
      } catch (err) {
        const seen = await page.evaluate(() => window.statusSeen);
        throw new Error(`${key}: not reconnected within ${WAIT} ms; the status showed ${JSON.stringify(seen)}`, { cause: err });
      }
      await expectConnected(key, strategy, 'general');
      const seen = await page.evaluate(() => window.statusSeen);
      assert.ok(!seen.some((t) => /^\s*(closed|error)\b/.test(t)), `${key}: the status showed ${JSON.stringify(seen)}`);
      assert.ok(old[key].ws.isClosed(), `${key}: the old WebSocket is open`);
      const open = sockets[key].filter(({ ws }) => !ws.isClosed());
      assert.equal(open.length, 1, `${key}: open WebSockets`);
      assert.notEqual(open[0], old[key]);
    }
    // A fresh credential each: a new single-use ticket, a new access token.
    const now = { alice: sockets.alice.find(({ ws }) => !ws.isClosed()), bob: sockets.bob.find(({ ws }) => !ws.isClosed()) };
    const ticket = new URL(now.alice.ws.url()).searchParams.get('ticket');
    assert.ok(ticket && ticket !== oldTicket, 'alice reconnected with the old ticket');
    assert.notEqual(credentialOf(now.bob), oldToken, 'bob reconnected with the old access token');

    const text = 'alice, back after the restart';
    await say('alice', text);
    await Promise.all([expectMessage('bob', 'alice', text), expectMessage('alice', 'alice', text)]);
    const back = 'bob, back too';
    await say('bob', back);
    await expectMessage('alice', 'bob', back);
  });
});

describe('the page tells the user what happened', () => {
  test('login errors, the credential shown, sending while disconnected, long messages, rooms', async () => {
    // alice in a context of her own: a session of its own, which her
    // logout below does not end.
    const context = await browser.newContext({ viewport: { width: 900, height: 780 }, deviceScaleFactor: 1 });
    try {
      const page = await newPage(context, 'edges');
      const shot = async (name) => {
        if (screenshot) await page.screenshot({ path: join(dirname(screenshot), `chat-${name}.png`), fullPage: true });
      };

      // Connect before logging in, then a wrong password: both errors
      // look like errors.
      await page.click('#connect-button');
      await expectText(page, '#status', /^error: log in first$/, 'edges');
      await page.fill('#login-username', 'alice');
      await page.fill('#login-password', 'wrong');
      await page.click('#login-button');
      await expectText(page, '#user', /wrong user name or password/, 'edges');
      assert.equal(await page.locator('#user').getAttribute('class'), 'error');
      const color = await page.locator('#user').evaluate((el) => getComputedStyle(el).color);
      assert.equal(color, 'rgb(176, 0, 32)', 'the login error is not shown as one');
      await shot('login-error');

      // Logging in answers "log in first".
      await page.fill('#login-password', 'alice');
      await page.click('#login-button');
      await expectText(page, '#user', /logged in as alice\b/, 'edges');
      await expectText(page, '#status', /^not connected$/, 'edges');
      assert.notEqual(await page.locator('#user').getAttribute('class'), 'error');

      // The credential box shows what each strategy sends.
      const shown = () => page.locator('#credential').evaluate((el) => [el.disabled, el.selectedOptions[0].textContent]);
      await page.selectOption('#strategy', 'first-message');
      await page.selectOption('#credential', 'access');
      await page.selectOption('#strategy', 'jwt');
      assert.deepEqual(await shown(), [true, 'access token'], 'jwt');
      await page.selectOption('#strategy', 'query');
      assert.deepEqual(await shown(), [true, 'ticket'], 'query');
      await page.selectOption('#strategy', 'first-message');
      assert.deepEqual(await shown(), [false, 'access token'], 'first-message keeps the choice');

      // Sending while disconnected says so, and keeps the text.
      await page.fill('#message-input', 'nobody hears this');
      await page.click('#send-button');
      await expectText(page, '#status', /^not connected · not sent: connect first$/, 'edges');
      assert.equal(await page.inputValue('#message-input'), 'nobody hears this');

      // A 2,000-character message (the input's limit) wraps.
      await page.selectOption('#strategy', 'query');
      await page.selectOption('#room', 'general');
      await page.click('#connect-button');
      await expectText(page, '#status', /^connected as alice to general via query\b/, 'edges');
      const long = 'x'.repeat(1990) + ' the end';
      await page.fill('#message-input', long);
      await page.click('#send-button');
      const item = page.locator('#messages .message').filter({ hasText: 'the end' }).first();
      await item.waitFor({ timeout: WAIT });
      const [scroll, client] = await page.locator('#messages').evaluate((el) => [el.scrollWidth, el.clientWidth]);
      assert.ok(scroll <= client, `the message list scrolls sideways: ${scroll} > ${client}`);
      assert.equal(await item.locator('.room').textContent(), '#general');

      // Another room: a line between, and the old messages keep their room.
      await page.selectOption('#room', 'secret');
      await page.click('#connect-button');
      await expectText(page, '#status', /^connected as alice to secret via query\b/, 'edges');
      await page.fill('#message-input', 'in secret now');
      await page.click('#send-button');
      const secret = page.locator('#messages .message').filter({ hasText: 'in secret now' }).first();
      await secret.waitFor({ timeout: WAIT });
      assert.equal(await secret.locator('.room').textContent(), '#secret');
      const order = await page.locator('#messages li').evaluateAll((lis) => lis.map((li) => li.className + ':' + (li.querySelector('.room')?.textContent ?? li.textContent)));
      const divider = order.indexOf('divider:#secret');
      assert.ok(divider > order.indexOf('message:#general') && divider < order.indexOf('message:#secret'), `messages ${JSON.stringify(order)}`);
      await shot('rooms');
    } finally {
      await context.close();
    }
  });
});

describe('logout', () => {
  test('closes every connection of alice, on her other page too, with 4401 "logged out"; bob chats on', async () => {
    // A second tab of alice: the same browser context, so the same
    // session cookie logs it in.
    pages.alice2 = await newPage(pages.alice.context(), 'alice2');
    await expectText(pages.alice2, '#user', /logged in as alice\b/, 'alice2');

    // alice's two pages one after the other: each comes to the front.
    await Promise.all([
      connect('alice', 'first-message', 'general', 'ticket').then(() => connect('alice2', 'jwt', 'general')),
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

    await front(pages.alice);
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
    await front(pages.alice);
    await pages.alice.selectOption('#strategy', 'query');
    await pages.alice.click('#connect-button');
    await expectText(pages.alice, '#status', /^\s*error: /, 'alice');
  });
});
