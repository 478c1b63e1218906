// The four carriers against a real wsauth server, with the ws package as
// the WebSocket: connect resolves only once authenticated, and rejects
// with a CloseError otherwise; JSON and binary envelopes; the ws package's
// options; several listeners.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BEARER_PREFIX,
  CloseError,
  WsauthClient,
  base64url,
  bearerProtocol,
  connectFirstMessage,
} from '../wsauth.js';
import WebSocket from 'ws';
import { client, closeAll, credentials, Messages, next, startServer, subject, types, WAIT } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => {
  closeAll();
  srv?.stop();
});

const CARRIERS = ['query', 'subprotocol', 'first-message', 'per-message'];

describe('every carrier', { concurrency: true }, () => {
  for (const carrier of CARRIERS) {
    test(`${carrier}: resolves once authenticated; messages both ways`, async () => {
      const sub = subject(carrier);
      const cred = credentials(srv, sub, () => ({ uses: carrier === 'per-message' ? 0 : 1 }));
      const { client: c, log } = client(srv, carrier, cred.fn, carrier === 'subprotocol' ? { protocols: ['test.v1'] } : {});
      const msgs = new Messages(c);
      assert.equal(c.state, 'closed');
      const got = await c.connect();
      assert.equal(got, c);
      assert.equal(c.state, 'open');
      assert.equal(c.authOK?.subject, sub);
      assert.equal(c.authOK?.expiresAt, null);
      // (per-message: the echo of the first envelope may follow.)
      assert.deepEqual(types(log).slice(0, 3), ['state:connecting', 'state:open', 'open']);
      assert.equal(log[2].reconnected, false);
      assert.deepEqual(cred.calls.map((r) => r.reason), ['connect']);
      if (carrier === 'subprotocol') assert.equal(c.protocol, 'test.v1');

      c.sendJSON({ hello: carrier });
      c.send('"as text"');
      const echo = await msgs.echo(JSON.stringify({ hello: carrier }));
      assert.equal(echo.from, sub);
      await msgs.echo('"as text"');

      const { delivered } = await srv.stats(sub);
      const texts = delivered.map((d) => d.data);
      // per-message: the first envelope authenticated, and was delivered.
      const want = [JSON.stringify({ hello: carrier }), '"as text"'];
      assert.deepEqual(texts, carrier === 'per-message' ? ['null', ...want] : want);
      c.close();
      assert.equal(c.state, 'closed');
      assert.equal(log.at(-1).type, 'close');
      assert.equal(log.at(-1).code, 1000);
      assert.equal(log.at(-1).willReconnect, false);
    });

    test(`${carrier}: a refusal after the socket opened rejects with a CloseError, never "open"`, async () => {
      const sub = subject(`${carrier}-refused`);
      const cred = credentials(srv, sub, () => ({ refuse: 'forbidden' }));
      const { client: c, log } = client(srv, carrier, cred.fn);
      const err = await c.connect().then(() => assert.fail('connected'), (e) => e);
      assert.ok(err instanceof CloseError, `${err}`);
      assert.equal(err.code, 4403);
      assert.equal(err.reason, 'forbidden');
      assert.equal(c.state, 'closed');
      assert.equal(c.closeError, err);
      assert.ok(!log.some((e) => e.type === 'open'), `events: ${types(log)}`);
      assert.equal(cred.calls.length, 1);
    });
  }
});

describe('subprotocol', () => {
  test('offers "wsauth" and the credential entry when the application has no protocol; the server echoes "wsauth"', async () => {
    const sub = subject('default-protocol');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'subprotocol', cred.fn);
    await c.connect();
    assert.equal(c.protocol, 'wsauth');
    c.close();
  });

  test('bearerProtocol is the prefix and base64url without padding', () => {
    assert.equal(base64url('a?b>'), 'YT9iPg');
    assert.equal(bearerProtocol('tok.en_1'), BEARER_PREFIX + Buffer.from('tok.en_1').toString('base64url'));
  });
});

describe('per-message', () => {
  test('the first envelope carries the option first; binary envelopes carry the token too', async () => {
    const sub = subject('binary');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'per-message', cred.fn, { first: { hello: 1 } });
    const binary = next(c, 'message', (e) => typeof e.data !== 'string');
    await c.connect();
    const bytes = new Uint8Array([0, 1, 2, 0xfe, 0xff]);
    c.send(bytes);
    const echo = await binary;
    assert.ok(echo.data instanceof ArrayBuffer, 'binary data is an ArrayBuffer');
    assert.deepEqual(new Uint8Array(echo.data), bytes);
    // A view into a larger buffer: only the view is sent.
    const big = new Uint8Array([9, 9, 7, 8, 9, 9]);
    const second = next(c, 'message', (e) => typeof e.data !== 'string');
    c.send(new DataView(big.buffer, 2, 2));
    assert.deepEqual(new Uint8Array((await second).data), new Uint8Array([7, 8]));
    const { delivered } = await srv.stats(sub);
    assert.deepEqual(
      delivered.map((d) => [d.type, d.data]),
      [['text', '{"hello":1}'], ['binary', Buffer.from(bytes).toString('base64')], ['binary', Buffer.from([7, 8]).toString('base64')]],
    );
    assert.throws(() => c.send('not json'), TypeError);
    c.close();
  });

  test('binary frames go as they are on the other carriers', async () => {
    const sub = subject('binary-query');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'query', cred.fn);
    const binary = next(c, 'message', (e) => typeof e.data !== 'string');
    await c.connect();
    c.send(new Uint8Array([1, 2, 3]).buffer);
    assert.deepEqual(new Uint8Array((await binary).data), new Uint8Array([1, 2, 3]));
    c.close();
  });
});

describe('listeners and options', () => {
  test('several message listeners each get every message; a removed one gets no more', async () => {
    const sub = subject('listeners');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'first-message', cred.fn);
    await c.connect();
    const a = [];
    const b = [];
    const la = (e) => a.push(JSON.parse(e.data).text);
    c.addEventListener('message', la);
    c.addEventListener('message', (e) => b.push(JSON.parse(e.data).text));
    let p = next(c, 'message', (e) => JSON.parse(e.data).text === 'one');
    c.send('one');
    await p;
    c.removeEventListener('message', la);
    p = next(c, 'message', (e) => JSON.parse(e.data).text === 'two');
    c.send('two');
    await p;
    assert.deepEqual(a, ['one']);
    assert.deepEqual(b, ['one', 'two']);
    c.close();
  });

  test('wsOptions reach the ws package: the connection comes from localAddress', async () => {
    const sub = subject('local-address');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'query', cred.fn, { wsOptions: { localAddress: '127.0.0.2' } });
    const msgs = new Messages(c);
    await c.connect();
    // The echo proves the handler has run, and so recorded the address.
    c.send('here');
    await msgs.echo('here');
    const { remote } = await srv.stats(sub);
    assert.match(remote[0], /^127\.0\.0\.2:\d+$/);
    c.close();
  });

  test('connectFirstMessage is new WsauthClient(…).connect()', async () => {
    const sub = subject('helper');
    const cred = credentials(srv, sub);
    const c = await connectFirstMessage(srv.ws('first-message'), cred.fn, { WebSocket });
    assert.ok(c instanceof WsauthClient);
    assert.equal(c.authOK?.subject, sub);
    c.close();
  });

  test('inBand false (a server without InBand): resolves on open, with no auth_ok; a refusal is an HTTP status, seen as 1006', async () => {
    const sub = subject('plain');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'query', cred.fn, { endpoint: 'query-plain', inBand: false });
    await c.connect();
    assert.equal(c.authOK, null);
    const msgs = new Messages(c);
    c.send('plain');
    await msgs.echo('plain');
    c.close();

    const bad = credentials(srv, sub, () => ({ refuse: 'forbidden' }));
    const { client: r } = client(srv, 'query', bad.fn, { endpoint: 'query-plain', inBand: false, retries: 0 });
    const err = await r.connect().then(() => assert.fail('connected'), (e) => e);
    assert.ok(err instanceof CloseError);
    assert.equal(err.code, 1006);
  });

  test('no auth_ok within timeout: the attempt fails with 4408, which is retried', async () => {
    const sub = subject('silent');
    const cred = credentials(srv, sub);
    const { client: c, log } = client(srv, 'first-message', cred.fn, { endpoint: 'silent', timeout: 150, retries: 1 });
    const err = await c.connect().then(() => assert.fail('connected'), (e) => e);
    assert.equal(err.code, 4408);
    assert.deepEqual(types(log).filter((t) => t.startsWith('close')), ['close:4408', 'close:4408']);
    assert.equal(log.find((e) => e.type === 'close').willReconnect, true);
    assert.equal(cred.calls.length, 2);
  });

  test('bad options throw at once', () => {
    assert.throws(() => new WsauthClient({ url: srv.ws('query'), carrier: 'header', credential: () => 'x', WebSocket }), TypeError);
    assert.throws(() => new WsauthClient({ url: srv.ws('query'), carrier: 'query', WebSocket }), TypeError);
    assert.throws(() => new WsauthClient({ url: 'ftp://x/', carrier: 'query', credential: () => 'x', WebSocket }), TypeError);
    // Node 20 has no WebSocket of its own: it must be passed.
    if (typeof globalThis.WebSocket === 'undefined') {
      assert.throws(() => new WsauthClient({ url: srv.ws('query'), carrier: 'query', credential: () => 'x' }), /WebSocket/);
    }
  });

  test('a credential no carrier can carry stops the client', async () => {
    const { client: c } = client(srv, 'query', () => 'has "quotes"');
    const err = await c.connect().then(() => assert.fail('connected'), (e) => e);
    assert.ok(err instanceof CloseError);
    assert.ok(err.cause instanceof TypeError);
    assert.equal(c.state, 'closed');
  });
});

test('close() while connecting rejects connect() with its code', async () => {
  const sub = subject('close-early');
  const cred = credentials(srv, sub);
  const { client: c } = client(srv, 'first-message', cred.fn, { endpoint: 'silent' });
  const p = c.connect();
  const opened = next(c, 'statechange', (e) => e.state === 'closed', WAIT);
  c.close(4000, 'changed my mind');
  const err = await p.then(() => assert.fail('connected'), (e) => e);
  await opened;
  assert.ok(err instanceof CloseError);
  assert.equal(err.code, 4000);
  assert.equal(err.reason, 'changed my mind');
  assert.throws(() => c.close(1001), RangeError);
});
