// Reconnecting by close code: retry with exponential backoff and jitter
// (1001, 1006, 1011, 1012, 1013, 4408), a new credential at once (4401),
// a longer wait (4429), stop (4400, 4403); the credential function called
// for every attempt; a server restart; a revocation.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CLOSE_ACTIONS, CloseError } from '../wsauth.js';
import { client, closeAll, credentials, FAST, next, startServer, state, subject, types, WAIT } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => {
  closeAll();
  srv?.stop();
});

// within checks that a delay d is the n-th backoff (from 1), jittered.
function within(d, n, base = FAST.initial) {
  const top = Math.min(FAST.max, base * FAST.factor ** (n - 1));
  assert.ok(d >= Math.floor(top * (1 - FAST.jitter)) && d <= top, `delay ${d} not in [${top * (1 - FAST.jitter)}, ${top}] (attempt ${n})`);
}

describe('the server closes an open connection', { concurrency: true }, () => {
  // How the test server ends a connection with each code: a hook on the
  // open connection.
  for (const code of [1001, 1006, 1011, 1012, 1013, 4408]) {
    test(`${code}: retried after a backoff, with a new ticket`, async () => {
      const sub = subject(`close-${code}`);
      const cred = credentials(srv, sub, () => ({ uses: 1 })); // single-use tickets
      const { client: c, log } = client(srv, 'query', cred.fn);
      await c.connect();
      const closed = next(c, 'close');
      const reopened = next(c, 'open');
      await srv.hook('close', { sub, code, reason: 'test' });
      const e = await closed;
      assert.equal(e.code, code);
      assert.equal(e.willReconnect, true);
      within(e.delay, 1);
      const o = await reopened;
      assert.equal(o.reconnected, true);
      assert.equal(o.authOK?.subject, sub);
      assert.deepEqual(cred.calls.map((r) => r.reason), ['connect', 'reconnect']);
      assert.equal(cred.calls[1].lastClose?.code, code);
      assert.notEqual(cred.tokens[0].token, cred.tokens[1].token);
      assert.deepEqual(types(log), ['state:connecting', 'state:open', 'open', 'state:reconnecting', `close:${code}`, 'state:open', 'open']);
      c.close();
    });
  }

  test('the used ticket is gone: reusing it is refused with 4401, so reconnecting needed the new one', async () => {
    const sub = subject('single-use');
    const cred = credentials(srv, sub, () => ({ uses: 1 }));
    const { client: c } = client(srv, 'query', cred.fn);
    await c.connect();
    const old = cred.tokens[0].token;
    const { client: replay } = client(srv, 'query', () => old, { retries: 0 });
    const err = await replay.connect().then(() => assert.fail('connected'), (e) => e);
    assert.equal(err.code, 4401);
    c.close();
  });
});

describe('refused before auth_ok', { concurrency: true }, () => {
  // refuse is what the test server refuses the first credential with; the
  // second one is good.
  for (const [refuse, code] of [['unavailable', 1011], ['timeout', 4408]]) {
    test(`${code} (${refuse}): retried after a backoff`, async () => {
      const sub = subject(refuse);
      const cred = credentials(srv, sub, (n) => (n === 1 ? { refuse } : {}));
      const { client: c, log } = client(srv, 'first-message', cred.fn);
      await c.connect();
      const e = log.find((x) => x.type === 'close');
      assert.equal(e.code, code);
      within(e.delay, 1);
      assert.deepEqual(types(log), ['state:connecting', 'state:reconnecting', `close:${code}`, 'state:open', 'open']);
      assert.equal(log.at(-1).reconnected, false, 'the first open is no reconnection');
      c.close();
    });
  }

  test('the backoff grows exponentially, with jitter, and resets once authenticated', async () => {
    const sub = subject('backoff');
    const cred = credentials(srv, sub, (n) => (n <= 4 || n === 6 ? { refuse: 'unavailable' } : {}));
    const { client: c, log } = client(srv, 'subprotocol', cred.fn);
    await c.connect();
    const delays = log.filter((x) => x.type === 'close').map((x) => x.delay);
    assert.equal(delays.length, 4);
    delays.forEach((d, i) => within(d, i + 1));
    const closed = next(c, 'close');
    const reopened = next(c, 'open');
    await srv.hook('close', { sub, code: 1011 }); // attempt 6 is refused, 7 good
    within((await closed).delay, 1);
    await reopened;
    const again = log.filter((x) => x.type === 'close').map((x) => x.delay);
    within(again.at(-1), 2);
    c.close();
  });

  test('4401: a new credential at once; a second 4401 in a row stops', async () => {
    const sub = subject('renew');
    const cred = credentials(srv, sub, (n) => (n === 1 ? { refuse: 'invalid' } : {}));
    const { client: c, log } = client(srv, 'per-message', cred.fn);
    await c.connect();
    const e = log.find((x) => x.type === 'close');
    assert.equal(e.code, 4401);
    assert.equal(e.delay, 0);
    c.close();

    const bad = credentials(srv, sub, () => ({ refuse: 'invalid' }));
    const { client: b, log: blog } = client(srv, 'per-message', bad.fn);
    const err = await b.connect().then(() => assert.fail('connected'), (x) => x);
    assert.ok(err instanceof CloseError);
    assert.equal(err.code, 4401);
    assert.equal(bad.calls.length, 2);
    assert.deepEqual(types(blog), ['state:connecting', 'state:reconnecting', 'close:4401', 'state:closed', 'close:4401']);
    assert.equal(blog.at(-1).willReconnect, false);
    assert.equal(blog.at(-1).error, err);
  });

  test('4429: waits longer', async () => {
    const sub = subject('rate-limited');
    const cred = credentials(srv, sub, (n) => (n === 1 ? { refuse: 'rate_limited' } : {}));
    const { client: c, log } = client(srv, 'query', cred.fn);
    await c.connect();
    const e = log.find((x) => x.type === 'close');
    assert.equal(e.code, 4429);
    assert.ok(e.delay >= FAST.wait * (1 - FAST.jitter) && e.delay <= FAST.wait, `delay ${e.delay}`);
    assert.ok(e.delay > FAST.initial, 'no longer than a retry');
    c.close();
  });

  for (const [refuse, code] of [['malformed', 4400], ['forbidden', 4403]]) {
    test(`${code} (${refuse}): stops; connect rejects; one credential asked for`, async () => {
      const sub = subject(refuse);
      const cred = credentials(srv, sub, () => ({ refuse }));
      const { client: c, log } = client(srv, 'first-message', cred.fn);
      const err = await c.connect().then(() => assert.fail('connected'), (x) => x);
      assert.ok(err instanceof CloseError);
      assert.equal(err.code, code);
      assert.equal(c.state, 'closed');
      assert.equal(cred.calls.length, 1);
      assert.deepEqual(types(log), ['state:connecting', 'state:closed', `close:${code}`]);
    });
  }

  test('retries bounds the failed attempts in a row', async () => {
    const sub = subject('retries');
    const cred = credentials(srv, sub, () => ({ refuse: 'unavailable' }));
    const { client: c } = client(srv, 'query', cred.fn, { retries: 2 });
    const err = await c.connect().then(() => assert.fail('connected'), (x) => x);
    assert.equal(err.code, 1011);
    assert.equal(cred.calls.length, 3);
  });

  test('closeActions overrides the table', async () => {
    assert.equal(CLOSE_ACTIONS[1011], 'retry');
    const sub = subject('override');
    const cred = credentials(srv, sub, () => ({ refuse: 'unavailable' }));
    const { client: c } = client(srv, 'query', cred.fn, { closeActions: { 1011: 'stop' } });
    const err = await c.connect().then(() => assert.fail('connected'), (x) => x);
    assert.equal(err.code, 1011);
    assert.equal(cred.calls.length, 1);
  });

  test('reconnect false: the first failure stops', async () => {
    const sub = subject('no-reconnect');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'query', cred.fn, { reconnect: false });
    await c.connect();
    const closed = next(c, 'close');
    await srv.hook('close', { sub, code: 1012 });
    const e = await closed;
    assert.equal(e.willReconnect, false);
    assert.equal(c.state, 'closed');
    assert.equal(c.closeError?.code, 1012);
  });
});

test('a restart: the client keeps trying (credential and socket failures) and comes back with a new credential', async () => {
  const sub = subject('restart');
  const cred = credentials(srv, sub, () => ({ uses: 1 }));
  const { client: c, log } = client(srv, 'first-message', cred.fn);
  await c.connect();
  const closed = next(c, 'close');
  // While the server is down, asking for a credential fails: reported,
  // and retried.
  const failed = next(c, 'error', (e) => e.phase === 'credential' && e.willReconnect);
  await srv.hook('stop');
  assert.equal((await closed).code, 1006);
  await failed;
  assert.equal(c.state, 'reconnecting');
  const reopened = next(c, 'open');
  await srv.hook('start');
  assert.equal((await reopened).reconnected, true);
  assert.equal(cred.tokens.length, 2, 'two credentials issued: before and after');
  assert.ok(cred.calls.slice(1).every((r) => r.reason === 'reconnect'));
  assert.ok(!log.some((e) => e.type === 'close' && !e.willReconnect));
  c.close();
});

describe('revocation', { concurrency: true }, () => {
  test('4401 with the reason of the revocation; a fresh credential reconnects', async () => {
    const sub = subject('revoked');
    const cred = credentials(srv, sub);
    const { client: c } = client(srv, 'subprotocol', cred.fn);
    await c.connect();
    const closed = next(c, 'close');
    const reopened = next(c, 'open');
    await srv.hook('revoke', { sub, reason: 'logged out' });
    const e = await closed;
    assert.deepEqual([e.code, e.reason, e.delay], [4401, 'logged out', 0]);
    await reopened;
    c.close();
  });

  test('a credential function that gives up (retry: false) stops the client with the close that made it ask', async () => {
    const sub = subject('logged-out');
    const cred = credentials(srv, sub, (n) => (n === 1 ? {} : Object.assign(new Error('no session'), { retry: false })));
    const { client: c } = client(srv, 'per-message', cred.fn);
    await c.connect();
    const final = next(c, 'close', (e) => !e.willReconnect);
    await srv.hook('revoke', { sub, reason: 'logged out' });
    const e = await final;
    assert.deepEqual([e.code, e.reason], [4401, 'logged out']);
    assert.ok(e.error instanceof CloseError);
    assert.match(String(e.error.cause), /no session/);
    await state(c, 'closed');
    assert.equal(cred.calls.length, 2);
  });
});

test('WAIT leaves room for the backoffs', () => assert.ok(WAIT > 10 * FAST.max));
