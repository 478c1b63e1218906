// Sending while not open: refused (NotOpenError) by default, or queued,
// in order and bounded, with the option queue; the queue survives a
// reconnect and is dropped on close.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { NotOpenError } from '../wsauth.js';
import { client, closeAll, credentials, Messages, next, startServer, state, subject } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => {
  closeAll();
  srv?.stop();
});

describe('not open', { concurrency: true }, () => {
  test('refused by default: NotOpenError, closed and connecting alike', async () => {
    const sub = subject('refused');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'first-message', cred.fn);
    assert.throws(() => c.send('x'), (e) => e instanceof NotOpenError && e.state === 'closed' && !e.queueFull);
    const p = c.connect();
    assert.equal(c.state, 'connecting');
    assert.throws(() => c.sendJSON({ x: 1 }), (e) => e instanceof NotOpenError && e.state === 'connecting');
    await p;
    c.send('now');
    await new Messages(c).echo('now');
    c.close();
    assert.throws(() => c.send('after close'), (e) => e instanceof NotOpenError && e.state === 'closed');
  });

  for (const carrier of ['query', 'per-message']) {
    test(`${carrier}: queued while connecting, in order, up to queue; then refused`, async () => {
      const sub = subject(`queued-${carrier}`);
      const cred = credentials(srv, sub);
      const { client: c } = client(srv, carrier, cred.fn, { queue: 2 });
      const msgs = new Messages(c);
      const p = c.connect();
      c.sendJSON({ n: 1 });
      c.send('{"n":2}');
      assert.throws(() => c.sendJSON({ n: 3 }), (e) => e instanceof NotOpenError && e.queueFull);
      await p;
      c.sendJSON({ n: 4 });
      await msgs.echo('{"n":4}');
      const { delivered } = await srv.stats(sub);
      const data = delivered.map((d) => d.data);
      assert.deepEqual(data, [...(carrier === 'per-message' ? ['null'] : []), '{"n":1}', '{"n":2}', '{"n":4}']);
      c.close();
    });
  }

  test('queued while reconnecting: sent on the new connection', async () => {
    const sub = subject('queued-reconnect');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'subprotocol', cred.fn, { queue: 4 });
    const msgs = new Messages(c);
    await c.connect();
    const reconnecting = state(c, 'reconnecting');
    const reopened = next(c, 'open');
    await srv.hook('close', { sub, code: 1012 });
    await reconnecting;
    c.send('while away');
    await reopened;
    await msgs.echo('while away');
    const { delivered } = await srv.stats(sub);
    assert.deepEqual(delivered.map((d) => d.data), ['while away']);
    c.close();
  });

  test('close drops the queue; connect() starts the client again', async () => {
    const sub = subject('queue-dropped');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'first-message', cred.fn, { queue: 4 });
    const msgs = new Messages(c);
    const p = c.connect();
    c.send('dropped');
    c.close();
    await assert.rejects(p, { name: 'CloseError', code: 1000 });
    await c.connect();
    c.send('kept');
    await msgs.echo('kept');
    const { delivered } = await srv.stats(sub);
    assert.deepEqual(delivered.map((d) => d.data), ['kept']);
    assert.deepEqual(cred.calls.map((r) => r.reason), ['connect', 'connect']);
    c.close();
  });
});
