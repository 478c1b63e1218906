// Helpers of the client's tests: the Go test server (testserver/main.go),
// credentials from it, and waits for the client's events.
//
// Nothing here sleeps: every wait is for an event, a state or a response,
// and has a deadline only so that a broken client fails instead of hanging.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import { WsauthClient } from '../wsauth.js';

// WAIT bounds every single wait.
export const WAIT = 5_000;

// FAST is a backoff that keeps the tests quick; jitter stays on, so its
// bounds are checked.
export const FAST = Object.freeze({ initial: 40, max: 400, factor: 2, jitter: 0.5, wait: 300 });

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

// startServer starts the test server: the binary $WSAUTH_TESTSERVER (the
// Go test builds it), else `go run ./testserver`. It stops when stop is
// called or this process ends (it exits when its stdin closes).
export async function startServer() {
  const bin = process.env.WSAUTH_TESTSERVER;
  const child = bin
    ? spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn('go', ['run', './testserver'], { cwd: pkgDir, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`testserver exited with ${code} before listening`)));
  });
  const { url, control } = JSON.parse(await withTimeout(first, 120_000, 'the test server to listen'));
  return new Server(child, url, control);
}

export class Server {
  constructor(child, url, control) {
    this.child = child;
    this.url = url;
    this.control = control;
  }

  // ws returns the ws:// URL of an endpoint, /ws/<name>.
  ws(name) {
    return this.url.replace(/^http/, 'ws') + '/ws/' + name;
  }

  // issue asks for a credential: {sub, ttl_ms, uses, refuse}.
  async issue(req) {
    const res = await fetch(this.url + '/credential', { method: 'POST', body: JSON.stringify(req) });
    if (!res.ok) throw Object.assign(new Error(`POST /credential: HTTP ${res.status}`), { status: res.status });
    return res.json();
  }

  // hook posts to a control hook: close, revoke, stop, start.
  async hook(name, body = {}) {
    const res = await fetch(this.control + '/' + name, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST /${name}: HTTP ${res.status}: ${await res.text()}`);
    return res.json();
  }

  // stats returns what the server knows of sub's connections.
  async stats(sub) {
    const res = await fetch(this.control + '/stats?sub=' + encodeURIComponent(sub));
    return res.json();
  }

  stop() {
    this.child.stdin.end();
    this.child.kill();
  }
}

let seq = 0;

// subject returns a subject no other test uses.
export function subject(label) {
  return `${label}-${++seq}-${process.pid}`;
}

// credentials returns a credential function for srv that records its
// calls. plan(n, request) says what the n-th call (from 1) asks for:
// {ttl_ms, uses, refuse, sub} over the defaults, or an Error to throw.
export function credentials(srv, sub, plan = () => ({})) {
  const calls = [];
  const tokens = [];
  const fn = async (req) => {
    calls.push(req);
    const p = plan(calls.length, req) ?? {};
    if (p instanceof Error) throw p;
    const { token, expires_at_ms: exp } = await srv.issue({ sub, ...p });
    tokens.push({ token, exp });
    return token;
  };
  return { fn, calls, tokens };
}

// client makes a WsauthClient for the endpoint of carrier on srv, with
// the ws package, FAST backoff and a recorder of its events.
export function client(srv, carrier, credential, options = {}) {
  const endpoint = options.endpoint ?? carrier;
  delete options.endpoint;
  const c = new WsauthClient({ url: srv.ws(endpoint), carrier, credential, WebSocket, backoff: FAST, timeout: WAIT, ...options });
  made.add(c);
  return { client: c, log: record(c) };
}

// made holds every client that client made, so that a test that fails
// before closing its client does not keep the file's process alive.
const made = new Set();

// closeAll closes every client that client made; each file's after hook
// calls it.
export function closeAll() {
  for (const c of made) c.close();
  made.clear();
}

// record returns the list of c's events, in order, as plain objects.
export function record(c) {
  const log = [];
  for (const type of ['statechange', 'open', 'message', 'expiring', 'refresh', 'close', 'error']) {
    c.addEventListener(type, (e) => log.push(e));
  }
  return log;
}

// next resolves with the next event of type on target for which pred is
// true.
export function next(target, type, pred = () => true, ms = WAIT) {
  let listener;
  const p = new Promise((resolve) => {
    listener = (e) => {
      if (pred(e)) resolve(e);
    };
    target.addEventListener(type, listener);
  });
  return withTimeout(p, ms, `a ${type} event`).finally(() => target.removeEventListener(type, listener));
}

// state resolves once c is in state s.
export function state(c, s, ms = WAIT) {
  if (c.state === s) return Promise.resolve();
  return next(c, 'statechange', (e) => e.state === s, ms).then(() => undefined);
}

// Messages collects c's messages, parsed when they are JSON text.
export class Messages {
  constructor(c) {
    this.list = [];
    this.waiters = [];
    c.addEventListener('message', (e) => {
      let m = e.data;
      if (typeof m === 'string') {
        try {
          m = JSON.parse(m);
        } catch {
          // kept as text
        }
      }
      this.list.push(m);
      this.waiters = this.waiters.filter((w) => !(w.pred(m) && (w.resolve(m), true)));
    });
  }

  // next resolves with the first message (had or to come) for which pred
  // is true.
  next(pred, what = 'a message', ms = WAIT) {
    const found = this.list.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    const p = new Promise((resolve) => this.waiters.push({ pred, resolve }));
    return withTimeout(p, ms, `${what}; messages so far: ${JSON.stringify(this.list)}`);
  }

  // echo resolves with the echo of text.
  echo(text) {
    return this.next((m) => m && m.text === text, `the echo of ${text}`);
  }
}

// withTimeout rejects if p does not settle within ms.
export function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// types returns the types of the events in log, for messages.
export function types(log) {
  return log.map((e) => (e.type === 'statechange' ? `state:${e.state}` : e.type === 'close' ? `close:${e.code}` : e.type));
}
