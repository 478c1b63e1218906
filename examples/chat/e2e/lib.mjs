// Helpers shared by the end-to-end tests of the chat example: the HTTP API
// (login, tickets) through Node's fetch, and a small promise-based wrapper
// around the npm `ws` client that speaks the chat's four wire formats.
//
// Nothing here waits for a fixed time: every wait is for an event (a frame,
// a close, a response) and has a deadline, so a broken server fails a test
// with a message instead of hanging it.

import WebSocket from 'ws';

// DEFAULT_TIMEOUT bounds each single wait (one frame, one close).
export const DEFAULT_TIMEOUT = 10_000;

// The four strategies of the contract, by their path segment under /ws/.
export const STRATEGIES = ['query', 'subprotocol', 'first-message', 'jwt'];

// APP_PROTOCOL is the application protocol of /ws/subprotocol.
export const APP_PROTOCOL = 'chat.v1';

// SUBPROTOCOL_PREFIX starts the credential entry of Sec-WebSocket-Protocol.
export const SUBPROTOCOL_PREFIX = 'wsauth.bearer.';

// baseURL returns the chat server's http://host:port from the environment
// variable name (set by examples/chat/e2e_test.go).
export function baseURL(name = 'CHAT_URL') {
  const u = process.env[name];
  if (!u) throw new Error(`${name} is not set: run these tests through "go test ./examples/chat -run E2E"`);
  return u.replace(/\/+$/, '');
}

// wsURL turns http://host:port into ws://host:port.
export function wsURL(base) {
  return base.replace(/^http/, 'ws');
}

// withTimeout rejects with an Error naming what was awaited if p does not
// settle within ms.
export function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// A Session is a logged-in user: the session cookie (for /api/tickets) and
// the access token (for /ws/jwt and first-message) returned by /api/login.
export class Session {
  constructor(base, username, cookie, accessToken, expiresAt) {
    this.base = base;
    this.username = username;
    this.cookie = cookie;
    this.accessToken = accessToken;
    this.expiresAt = expiresAt;
  }

  // ticket asks POST /api/tickets for a ticket for room and returns it.
  async ticket(room) {
    const res = await postJSON(this.base, '/api/tickets', { room }, this.cookie);
    if (res.status !== 200) {
      throw new Error(`POST /api/tickets {"room":"${room}"} as ${this.username}: HTTP ${res.status}: ${await res.text()}`);
    }
    const body = await res.json();
    if (typeof body.ticket !== 'string' || body.ticket === '') {
      throw new Error(`POST /api/tickets: no ticket in ${JSON.stringify(Object.keys(body))}`);
    }
    return body.ticket;
  }
}

// postJSON posts body as JSON to base+path, with cookie if given.
export async function postJSON(base, path, body, cookie) {
  const headers = { 'Content-Type': 'application/json' };
  if (cookie) headers.Cookie = cookie;
  return withTimeout(
    fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body), redirect: 'manual' }),
    DEFAULT_TIMEOUT,
    `POST ${path}`,
  );
}

// cookiePairs returns the name=value parts of a response's Set-Cookie
// headers, joined for a Cookie request header, and the raw headers.
export function cookiePairs(res) {
  const raw = res.headers.getSetCookie();
  return { cookie: raw.map((c) => c.split(';', 1)[0].trim()).join('; '), raw };
}

// login logs username in (password = username for the demo accounts) and
// returns its Session.
export async function login(base, username, password = username) {
  const res = await postJSON(base, '/api/login', { username, password });
  if (res.status !== 200) {
    throw new Error(`POST /api/login as ${username}: HTTP ${res.status}: ${await res.text()}`);
  }
  const body = await res.json();
  const { cookie } = cookiePairs(res);
  if (!cookie) throw new Error(`POST /api/login as ${username}: no Set-Cookie`);
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new Error(`POST /api/login as ${username}: no access_token`);
  }
  return new Session(base, username, cookie, body.access_token, body.expires_at);
}

// b64url encodes s as base64url without padding.
export function b64url(s) {
  return Buffer.from(s, 'utf8').toString('base64url');
}

// A Client is one WebSocket connection of the chat. It buffers every frame
// it receives, so a test can wait for a frame that arrived before it asked,
// and remembers how the connection ended.
export class Client {
  // name is used in error messages; envelopeToken, when set, wraps every
  // chat frame in the per-message envelope {"token","data"}.
  constructor(ws, name, envelopeToken) {
    this.ws = ws;
    this.name = name;
    this.envelopeToken = envelopeToken;
    this.frames = []; // parsed frames, in arrival order
    this.waiters = []; // {pred, resolve}
    this.closeInfo = null; // {code, reason} once closed
    this.closeWaiters = [];
    ws.on('message', (data, isBinary) => {
      let frame;
      try {
        frame = JSON.parse(isBinary ? Buffer.from(data).toString('utf8') : data.toString());
      } catch {
        frame = { unparsed: data.toString() };
      }
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(frame)) {
          w.resolve(frame);
          return false;
        }
        return true;
      });
    });
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closeInfo);
      this.closeWaiters = [];
      for (const w of this.waiters) w.resolve(null);
      this.waiters = [];
    });
    // Errors after the handshake (a reset socket) also end in 'close'.
    ws.on('error', () => {});
  }

  // next resolves with the first frame (buffered or future) for which pred
  // is true. It rejects on timeout or if the connection closes first.
  async next(pred, what, ms = DEFAULT_TIMEOUT) {
    const found = this.frames.find(pred);
    if (found) return found;
    if (this.closeInfo) {
      throw new Error(`${this.name}: connection closed (${fmtClose(this.closeInfo)}) before ${what}`);
    }
    const p = new Promise((resolve) => this.waiters.push({ pred, resolve }));
    const frame = await withTimeout(p, ms, `${this.name}: ${what}; frames so far: ${JSON.stringify(this.frames)}`);
    if (frame === null) {
      throw new Error(`${this.name}: connection closed (${fmtClose(this.closeInfo)}) before ${what}`);
    }
    return frame;
  }

  // authReply resolves with {ok: frame} once the auth_ok frame of the
  // first-message strategy has arrived, or with {closed: {code, reason}} if
  // the connection closes first.
  authReply(ms = DEFAULT_TIMEOUT) {
    const isOK = (f) => f.type === 'auth_ok';
    const p = new Promise((resolve) => {
      const f = this.frames.find(isOK);
      if (f) return resolve({ ok: f });
      if (this.closeInfo) return resolve({ closed: this.closeInfo });
      this.waiters.push({ pred: isOK, resolve: (fr) => resolve(fr ? { ok: fr } : { closed: this.closeInfo }) });
    });
    return withTimeout(p, ms, `${this.name}: auth_ok or close; frames so far: ${JSON.stringify(this.frames)}`);
  }

  // chat resolves with the first chat frame {"room","from","text","at"} with
  // the given text (from, if given, must match too).
  chat(text, from, ms) {
    return this.next(
      (f) => chatBody(f)?.text === text && (from === undefined || chatBody(f).from === from),
      `chat frame ${JSON.stringify(text)}${from ? ` from ${from}` : ''}`,
      ms,
    ).then(chatBody);
  }

  // say sends the chat frame {"text":text}, inside the envelope when this
  // client authenticates every frame.
  say(text) {
    this.sendJSON(this.envelopeToken ? { token: this.envelopeToken, data: { text } } : { text });
  }

  sendJSON(v) {
    this.ws.send(JSON.stringify(v));
  }

  // closed resolves with {code, reason} once the connection has closed.
  closed(ms = DEFAULT_TIMEOUT) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    const p = new Promise((resolve) => this.closeWaiters.push(resolve));
    return withTimeout(p, ms, `${this.name}: close; frames so far: ${JSON.stringify(this.frames)}`);
  }

  // close closes the connection normally and waits for the close to finish.
  async close() {
    if (this.closeInfo) return;
    this.ws.close(1000, 'bye');
    await this.closed().catch(() => this.ws.terminate());
  }
}

// chatBody returns the chat message of a frame: the frame itself, or its
// "data" if the server wraps what it sends in an envelope too.
export function chatBody(f) {
  if (f && typeof f === 'object' && typeof f.text !== 'string' && f.data && typeof f.data === 'object') {
    return f.data;
  }
  return f;
}

export function fmtClose(c) {
  return c ? `code ${c.code}, reason ${JSON.stringify(c.reason)}` : 'not closed';
}

// HandshakeError is a handshake the server answered with an HTTP status
// instead of 101.
export class HandshakeError extends Error {
  constructor(status, body) {
    super(`handshake refused: HTTP ${status}: ${body}`);
    this.status = status;
  }
}

// open dials url and resolves with a Client once the handshake is done. It
// rejects with a HandshakeError if the server answers with an HTTP status
// (the 'unexpected-response' event of ws), or with the error of a failed
// connection. options go to the ws constructor (origin, localAddress, …).
export function open(url, { name = 'client', protocols, envelopeToken, ms = DEFAULT_TIMEOUT, ...options } = {}) {
  const ws = new WebSocket(url, protocols, { handshakeTimeout: ms, ...options });
  // Wrap before the handshake so no early frame is missed.
  const client = new Client(ws, name, envelopeToken);
  const p = new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        if (body.length < 512) body += d;
      });
      res.on('end', () => reject(new HandshakeError(res.statusCode, body.trim())));
      res.on('error', () => reject(new HandshakeError(res.statusCode, body.trim())));
      req.destroy();
    });
    ws.once('error', (err) => reject(err));
    ws.once('close', (code, reason) => reject(new Error(`${name}: closed during handshake: code ${code} ${reason}`)));
  });
  return withTimeout(p, ms + 1000, `${name}: handshake with ${redactURL(url)}`);
}

// redactURL drops the query (the ticket) from url for messages.
export function redactURL(url) {
  return url.replace(/\?.*$/, '?…');
}

// connect joins room as session's user on one strategy and resolves with a
// Client that has passed authentication as far as the client can tell:
//
//   query          ticket in ?ticket=
//   subprotocol    Sec-WebSocket-Protocol: chat.v1, wsauth.bearer.<b64url(ticket)>
//   first-message  {"type":"auth","token":<ticket or access token>} → auth_ok
//   jwt            no credential on the handshake; every frame is an envelope
//
// cred overrides the credential (a ticket for query; a ticket or an access
// token for subprotocol and first-message; the envelope token for jwt);
// credKind picks what subprotocol and first-message send when cred is not
// given: 'ticket' (default) or 'access'.
// For first-message, connect waits for auth_ok or a close (then it resolves
// with the closed Client so that tests can check the code); expectAuthOK =
// false skips the wait.
export async function connect(session, strategy, room, opts = {}) {
  const { cred, credKind = 'ticket', ws: wsOpts = {}, expectAuthOK = true } = opts;
  const base = wsURL(session.base);
  const name = `${session.username}@${strategy}/${room}`;
  const path = `${base}/ws/${strategy}/${encodeURIComponent(room)}`;
  switch (strategy) {
    case 'query': {
      const t = cred ?? (await session.ticket(room));
      return open(`${path}?ticket=${encodeURIComponent(t)}`, { name, ...wsOpts });
    }
    case 'subprotocol': {
      const t = cred ?? (credKind === 'access' ? session.accessToken : await session.ticket(room));
      const c = await open(path, { name, protocols: [APP_PROTOCOL, SUBPROTOCOL_PREFIX + b64url(t)], ...wsOpts });
      if (c.ws.protocol !== APP_PROTOCOL) {
        c.ws.terminate();
        throw new Error(`${name}: server selected subprotocol ${JSON.stringify(c.ws.protocol)}, want ${APP_PROTOCOL}`);
      }
      return c;
    }
    case 'first-message': {
      const t = cred ?? (credKind === 'access' ? session.accessToken : await session.ticket(room));
      const c = await open(path, { name, ...wsOpts });
      c.sendJSON({ type: 'auth', token: t });
      if (expectAuthOK) {
        const r = await c.authReply();
        if (r.ok && r.ok.subject !== session.username) {
          throw new Error(`${name}: auth_ok for subject ${JSON.stringify(r.ok.subject)}, want ${session.username}`);
        }
      }
      return c;
    }
    case 'jwt':
      return open(path, { name, envelopeToken: cred ?? session.accessToken, ...wsOpts });
    default:
      throw new Error(`unknown strategy ${strategy}`);
  }
}

let seq = 0;

// unique returns a text no other test sends.
export function unique(label) {
  seq++;
  return `${label} #${seq} ${process.pid}-${Date.now().toString(36)}`;
}

// joined resolves once c is in its room as far as the server is concerned:
// it says a unique hello and waits for the server to fan it back out to c
// itself. (The server sends each chat frame to everyone in the room,
// sender included; a frame the server relays to c proves c is registered,
// and on /ws/jwt that c's first envelope was accepted.)
export async function joined(c, from) {
  const hello = unique(`hello from ${c.name}`);
  c.say(hello);
  const got = await c.chat(hello);
  if (from !== undefined && got.from !== from) {
    throw new Error(`${c.name}: own hello came back from ${JSON.stringify(got.from)}, want ${from}`);
  }
  return got;
}
