// Refresh in place: the server's {"type":"expiring"} makes the client ask
// the credential function for a new credential and send
// {"type":"refresh","token":T}, answered with auth_ok, on every carrier;
// the connection outlives its first credential, and no refresh frame ever
// reaches the handler as data.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CloseError, WsauthClient } from '../wsauth.js';
import { client, closeAll, credentials, Messages, next, startServer, state, subject, types, WAIT } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => {
  closeAll();
  srv?.stop();
});

// TTL is the credentials' lifetime: the server warns at half of it.
const TTL = 2000;

describe('refresh on expiring', { concurrency: true }, () => {
  for (const carrier of ['query', 'subprotocol', 'first-message', 'per-message']) {
    test(`${carrier}: stays open past the first credential's expiry, same socket`, async () => {
      const sub = subject(`refresh-${carrier}`);
      const cred = credentials(srv, sub, (n) => ({ ttl_ms: TTL, uses: carrier === 'per-message' || n > 1 ? 0 : 1 }));
      const { client: c, log } = client(srv, carrier, cred.fn);
      const msgs = new Messages(c);
      await c.connect();
      const socket = c.socket;
      const firstExp = cred.tokens[0].exp;
      assert.equal(c.authOK?.expiresAt?.getTime(), firstExp);

      // One refresh after another, each the answer to an expiring notice,
      // until the first credential has expired.
      let last;
      while (!last || Date.now() < firstExp + TTL / 4) {
        const expiring = next(c, 'expiring', () => true, 2 * TTL);
        const refreshed = next(c, 'refresh', () => true, 2 * TTL);
        assert.ok((await expiring).seconds >= 1, 'expiring.seconds');
        last = (await refreshed).authOK;
        assert.equal(last.subject, sub);
        assert.equal(last.expiresAt?.getTime(), cred.tokens.at(-1).exp);
      }
      assert.equal(c.socket, socket, 'the client reconnected');
      assert.equal(c.state, 'open');
      assert.deepEqual(c.authOK, last);
      assert.ok(cred.calls.length >= 2);
      assert.deepEqual(cred.calls.map((r) => r.reason), ['connect', ...cred.calls.slice(1).map(() => 'refresh')]);

      c.sendJSON({ after: 'refresh' });
      await msgs.echo('{"after":"refresh"}');
      assert.ok(!log.some((e) => e.type === 'close' || e.type === 'error'), `events: ${types(log)}`);
      assert.ok(!msgs.list.some((m) => m?.type === 'expiring' || m?.type === 'auth_ok'), 'a control frame reached the listeners');

      // The handler saw our messages only: the refresh frames are
      // wsauth's, never data. In per-message mode the message after the
      // refresh carried the new credential (its principal's expiry).
      const { delivered } = await srv.stats(sub);
      const data = delivered.map((d) => d.data);
      assert.deepEqual(data, carrier === 'per-message' ? ['null', '{"after":"refresh"}'] : ['{"after":"refresh"}']);
      if (carrier === 'per-message') assert.equal(delivered.at(-1).exp_ms, last.expiresAt.getTime());
      c.close();
    });
  }
});

describe('without a refresh', { concurrency: true }, () => {
  test('the server closes with 4401 at expiry; the client reconnects at once with a new credential', async () => {
    const sub = subject('expire');
    const cred = credentials(srv, sub, (n) => ({ ttl_ms: n === 1 ? 600 : 0 }));
    const { client: c, log } = client(srv, 'first-message', cred.fn, { refresh: false });
    await c.connect();
    const expiring = next(c, 'expiring', () => true, 2000);
    const closed = next(c, 'close', () => true, 2000);
    const reopened = next(c, 'open', () => true, 3000);
    await expiring;
    const e = await closed;
    assert.equal(e.code, 4401);
    assert.equal(e.reason, 'credential expired');
    assert.equal(e.willReconnect, true);
    assert.equal(e.delay, 0);
    assert.equal((await reopened).reconnected, true);
    assert.deepEqual(cred.calls.map((r) => [r.reason, r.lastClose?.code ?? null]), [['connect', null], ['reconnect', 4401]]);
    assert.deepEqual(types(log).filter((t) => t.startsWith('state')), ['state:connecting', 'state:open', 'state:reconnecting', 'state:open']);
    c.close();
  });

  test('a credential function that fails on refresh is reported; the expiry then renews the connection', async () => {
    const sub = subject('refresh-fails');
    const cred = credentials(srv, sub, (n, req) => (req.reason === 'refresh' ? new Error('token endpoint down') : { ttl_ms: n === 1 ? 600 : 0 }));
    const { client: c } = client(srv, 'subprotocol', cred.fn);
    await c.connect();
    const failed = next(c, 'error', () => true, 2000);
    const reopened = next(c, 'open', () => true, 3000);
    const e = await failed;
    assert.equal(e.phase, 'refresh');
    assert.equal(e.willReconnect, false);
    assert.match(String(e.error), /token endpoint down/);
    await reopened;
    c.close();
  });
});

describe('a refresh refused', () => {
  test('another subject: 4403, the client stops', async () => {
    const sub = subject('switch');
    const cred = credentials(srv, sub, (n) => (n === 1 ? { ttl_ms: TTL } : { sub: 'mallory' }));
    const { client: c } = client(srv, 'per-message', cred.fn);
    await c.connect();
    const closed = next(c, 'close', () => true, 2 * TTL);
    const refreshed = c.refresh();
    const e = await closed;
    assert.equal(e.code, 4403);
    assert.equal(e.reason, 'subject changed');
    assert.equal(e.willReconnect, false);
    assert.ok(e.error instanceof CloseError);
    await assert.rejects(refreshed, (err) => err instanceof CloseError && err.code === 4403);
    await state(c, 'closed');
    assert.deepEqual(cred.calls.map((r) => r.reason), ['connect', 'refresh']);
  });

  test('refresh() by hand resolves with the new auth_ok', async () => {
    const sub = subject('by-hand');
    const cred = credentials(srv, sub, () => ({ ttl_ms: 60_000 }));
    const { client: c } = client(srv, 'query', cred.fn);
    await c.connect();
    const ok = await c.refresh();
    assert.equal(ok.subject, sub);
    assert.equal(ok.expiresAt?.getTime(), cred.tokens[1].exp);
    assert.equal(c.authOK, ok);
    c.close();
    await assert.rejects(c.refresh(), { name: 'NotOpenError' });
  });
});

test('WAIT is generous next to TTL', () => assert.ok(WAIT > 2 * TTL));

// A refresh still waiting for its credential when its socket is lost is
// no answer for the next socket: that one's expiring notice starts a
// refresh of its own, else the server would close it 4401 at its expiry.
// A fake WebSocket, so that the loss and the notice come in this order.
test('a refresh pending across a reconnect does not stand for the next socket\'s', async () => {
  const sockets = [];
  const sent = new EventTarget();
  class FakeWS {
    constructor() {
      this.protocol = '';
      this.binaryType = 'blob';
      this.sent = [];
      this.listeners = {};
      sockets.push(this);
      queueMicrotask(() => this.emit('open', {}));
    }
    addEventListener(type, f) {
      (this.listeners[type] ??= []).push(f);
    }
    send(data) {
      this.sent.push(data);
      sent.dispatchEvent(new Event('sent'));
    }
    close() {}
    emit(type, e) {
      for (const f of this.listeners[type] ?? []) f(e);
    }
  }
  // frame resolves once socket i has sent a frame holding text.
  const frame = (i, text) =>
    sockets[i]?.sent.some((s) => s.includes(text)) ? Promise.resolve() : next(sent, 'sent', () => sockets[i]?.sent.some((s) => s.includes(text))).then(() => undefined);
  let release;
  const calls = [];
  const c = new WsauthClient({
    url: 'ws://wsauth.test/ws',
    carrier: 'first-message',
    WebSocket: FakeWS,
    backoff: { initial: 0, jitter: 0 },
    credential: ({ reason }) => {
      calls.push(reason);
      if (reason === 'refresh' && !release) return new Promise((r) => (release = r)); // the first socket's: slow
      return `tok-${calls.length}`;
    },
  });
  const opened = c.connect();
  await frame(0, '"auth"');
  sockets[0].emit('message', { data: '{"type":"auth_ok","subject":"alice"}' });
  await opened;
  const asked = next(c, 'expiring');
  sockets[0].emit('message', { data: '{"type":"expiring","in":30}' });
  await asked;
  assert.deepEqual(calls, ['connect', 'refresh']);

  // The socket is lost while the refresh waits; the client reconnects.
  sockets[0].emit('close', { code: 1006, reason: '', wasClean: false });
  await frame(1, '"auth"');
  const reopened = state(c, 'open');
  sockets[1].emit('message', { data: '{"type":"auth_ok","subject":"alice"}' });
  await reopened;

  sockets[1].emit('message', { data: '{"type":"expiring","in":30}' });
  await frame(1, '"refresh"');
  assert.deepEqual(calls, ['connect', 'refresh', 'reconnect', 'refresh']);
  release('late-token');
  c.close();
});
