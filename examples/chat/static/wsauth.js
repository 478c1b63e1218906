/**
 * wsauth.js — the browser side of wsauth's four WebSocket wire formats.
 *
 * A small ES module with no dependencies and no build step: copy it into
 * your front end. It knows the wire formats only; which credential to
 * present (a ticket or an access token) and where to get it is your app's
 * business.
 *
 * Browsers cannot set an Authorization header on a WebSocket, so the
 * credential rides elsewhere:
 *
 *   strategy        how                                          connect…
 *   --------------  -------------------------------------------  --------------------------
 *   query           wss://host/ws?ticket=T                       connectQuery(url, ticket)
 *   subprotocol     Sec-WebSocket-Protocol: <app>,               connectSubprotocol(url, cred, app)
 *                   wsauth.bearer.<base64url(T)>
 *   first message   first frame {"type":"auth","token":T},       connectFirstMessage(url, cred)
 *                   server answers {"type":"auth_ok",…}
 *   every message   every frame {"token":JWT,"data":<JSON>}      connectPerMessage(url, token)
 *
 * Only short-lived, single-use tickets belong in a URL (query): URLs end up
 * in logs. Get one from your server just before connecting (fetchTicket).
 *
 * Every connect function returns a Promise of an AuthSocket once the
 * connection is usable, or rejects with a CloseError if the server closes
 * it first. Servers in wsauth's browser-friendly mode refuse by upgrading
 * and then closing with a code (a browser cannot read the HTTP status of a
 * failed handshake), so for query and subprotocol a refusal arrives as a
 * close right after the socket opened: watch AuthSocket.closed.
 *
 * Close codes (CLOSE): 4400 malformed auth message, 4401 missing, invalid,
 * expired or revoked credential (get a new one; the reason says which,
 * e.g. "logged out"), 4403 authenticated but not allowed (also a refresh
 * naming another user), 4408 no auth in time, 4429 too many failed
 * attempts from this address. 1006 means the network, not the credential.
 *
 * Refresh in place. A connection authenticated by a credential that
 * expires (an access token, not a ticket: a ticket authenticates the
 * handshake only, so its connection never expires) is closed with 4401 at
 * the credential's expiry unless the client hands over a fresh one. The
 * server says when, and this module does the rest if you pass
 * `refresh`, an async function returning a fresh credential (typically
 * from your token endpoint, with the session cookie):
 *
 *   1. Ahead of expiry (30 s by default, at most half the credential's
 *      lifetime) the server sends {"type":"expiring","in":N}, N in
 *      seconds. The socket swallows it (it never reaches onmessage),
 *      calls onexpiring(N) and then `refresh()`.
 *   2. first message, and subprotocol or query on a server with
 *      Options.Refresh: the socket sends {"type":"refresh","token":T} and
 *      the server answers {"type":"auth_ok","subject":…,"expires_at":…}
 *      (also swallowed; the socket's authOK is updated). The subject may
 *      not change (else 4403); a bad token closes with 4401.
 *      every message: there is nothing to answer; the socket puts T in
 *      the envelope of every later frame and sends one right away
 *      (`keepAlive`, default {}), so the server sees it even if the user
 *      is idle. The server keeps the connection as long as the newest
 *      token it has seen.
 *   3. onrefresh(info) is called with the auth_ok (or {token} in
 *      per-message mode). If `refresh()` throws, onrefresherror(err) is
 *      called and the server closes the connection with 4401 at expiry.
 *
 * sock.refresh(credential) does steps 2 and 3 by hand. On connections
 * that refresh, frames whose "type" is "expiring" or "auth_ok" are
 * wsauth's (first-message and per-message connections always; query and
 * subprotocol ones when opened with `refresh`): keep them out of your own
 * protocol.
 *
 * Example:
 *
 *   import { fetchTicket, connectQuery, wsURL } from './wsauth.js';
 *   const { ticket } = await fetchTicket('/api/tickets', { room: 'general' });
 *   const sock = await connectQuery(wsURL('/ws/query/general'), ticket);
 *   sock.onmessage = (data) => console.log(JSON.parse(data));
 *   sock.closed.then(({ code, reason }) => console.log('closed', code, reason));
 *   sock.send(JSON.stringify({ text: 'hello' }));
 *
 *   // An access token, refreshed in place before it expires:
 *   const getToken = async () => (await (await fetch('/api/token', { method: 'POST' })).json()).access_token;
 *   const live = await connectFirstMessage(wsURL('/ws/first-message/general'), await getToken(), { refresh: getToken });
 *   live.onrefresh = (ok) => console.log('good until', ok.expires_at);
 */

/** Close codes sent by a wsauth server after the upgrade. */
export const CLOSE = Object.freeze({
  MALFORMED: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  AUTH_TIMEOUT: 4408,
  TOO_MANY_ATTEMPTS: 4429,
});

/** The Sec-WebSocket-Protocol entry that carries a credential starts so. */
export const BEARER_PREFIX = 'wsauth.bearer.';

/** The application protocol offered when the app has none of its own. */
export const DEFAULT_PROTOCOL = 'wsauth';

/** CloseError is a connection that closed before it became usable. */
export class CloseError extends Error {
  constructor(code, reason) {
    super(`closed ${code}${reason ? ' ' + reason : ''}`);
    this.name = 'CloseError';
    this.code = code;
    this.reason = reason;
  }
}

/**
 * wsURL turns a path on this page's server (or an http(s) URL) into a
 * ws(s) URL.
 */
export function wsURL(path, base = globalThis.location?.href) {
  const u = new URL(path, base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : u.protocol === 'http:' ? 'ws:' : u.protocol;
  return u.toString();
}

/**
 * fetchTicket POSTs body as JSON to url, with the page's cookies, and
 * returns {ticket, expiresAt}. The server must refuse cross-site requests
 * (wsauth's ticket.Issuer does). Throws an Error with .status on failure.
 */
export async function fetchTicket(url, body = {}) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const err = new Error(`ticket: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  const { ticket, expires_at: expiresAt } = await res.json();
  return { ticket, expiresAt: new Date(expiresAt) };
}

/**
 * base64url encodes the UTF-8 bytes of s in base64url without padding
 * (RFC 4648 section 5), as the subprotocol carrier wants.
 */
export function base64url(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * bearerProtocol returns the Sec-WebSocket-Protocol entry that carries
 * credential. Offer it after your application protocol, never alone: the
 * server echoes the application protocol, never the credential.
 */
export function bearerProtocol(credential) {
  return BEARER_PREFIX + base64url(credential);
}

/**
 * AuthSocket wraps a WebSocket that has passed (or is passing) wsauth
 * authentication.
 *
 *   onmessage(data, event)  called for every frame after authentication
 *                           (except wsauth's control frames, see above)
 *   send(data)              sends a frame as is (strings or binary)
 *   close(code, reason)     closes the connection
 *   closed                  Promise of {code, reason, wasClean}; never rejects
 *   refresh(credential)     hands over a fresh credential; Promise of the
 *                           server's auth_ok
 *   onexpiring(seconds)     the server's expiry notice
 *   onrefresh(info)         a refresh went through
 *   onrefresherror(err)     the refresh function failed
 *   authOK                  the latest auth_ok (first message, refreshes)
 *   ws                      the underlying WebSocket
 */
export class AuthSocket {
  // options.refresh: async () => credential; options.control: whether
  // frames of type "expiring" and "auth_ok" are wsauth's.
  constructor(ws, { refresh, control = false } = {}) {
    this.ws = ws;
    this.closed = new Promise((resolve) => {
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }));
    });
    this._handler = null;
    this._buffer = []; // frames that came before onmessage was set
    this._ready = false; // false while a connect function reads auth replies
    this._refreshFn = refresh ?? null;
    this._control = control || !!refresh;
    this._waiting = []; // {resolve, reject} of refreshes awaiting auth_ok, oldest first
    this._refreshing = false;
    this.onexpiring = null;
    this.onrefresh = null;
    this.onrefresherror = null;
    ws.addEventListener('message', (e) => {
      if (!this._ready) return;
      if (this._control && this._controlFrame(e.data)) return;
      if (this._handler) this._handler(e.data, e);
      else this._buffer.push(e);
    });
    ws.addEventListener('close', (e) => {
      for (const w of this._waiting.splice(0)) w.reject(new CloseError(e.code, e.reason));
    });
  }

  get onmessage() {
    return this._handler;
  }

  set onmessage(fn) {
    this._handler = fn;
    while (fn && this._buffer.length) {
      const e = this._buffer.shift();
      fn(e.data, e);
    }
  }

  send(data) {
    this.ws.send(data);
  }

  close(code = 1000, reason = '') {
    this.ws.close(code, reason);
  }

  /**
   * refresh sends {"type":"refresh","token":credential} and resolves with
   * the server's auth_ok, or rejects with a CloseError if the server
   * closes the connection instead (4401 bad credential, 4403 another
   * subject).
   */
  refresh(credential) {
    return new Promise((resolve, reject) => {
      this._waiting.push({ resolve, reject });
      this.ws.send(JSON.stringify({ type: 'refresh', token: credential }));
    });
  }

  // _controlFrame handles data if it is one of wsauth's control frames,
  // and reports whether it was.
  _controlFrame(data) {
    if (typeof data !== 'string' || !data.includes('"type"')) return false;
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return false;
    }
    if (m === null || typeof m !== 'object') return false;
    if (m.type === 'expiring' && typeof m.in === 'number') {
      this._expiring(m.in);
      return true;
    }
    if (m.type === 'auth_ok') {
      this.authOK = m;
      this._waiting.shift()?.resolve(m);
      return true;
    }
    return false;
  }

  async _expiring(seconds) {
    try {
      this.onexpiring?.(seconds);
    } catch (err) {
      console.error(err);
    }
    if (!this._refreshFn || this._refreshing) return;
    this._refreshing = true;
    try {
      const credential = await this._refreshFn();
      const info = await this.refresh(credential);
      this.onrefresh?.(info);
    } catch (err) {
      // The server closes the connection with 4401 at expiry.
      this.onrefresherror?.(err);
    } finally {
      this._refreshing = false;
    }
  }
}

// open resolves with ws once it is open, or rejects with a CloseError.
function open(ws) {
  return new Promise((resolve, reject) => {
    const onClose = (e) => reject(new CloseError(e.code, e.reason));
    ws.addEventListener('close', onClose, { once: true });
    ws.addEventListener('open', () => {
      ws.removeEventListener('close', onClose);
      resolve(ws);
    }, { once: true });
  });
}

/**
 * connectQuery opens url with ticket in the query parameter param
 * (default "ticket"). Use it only with single-use, short-lived tickets.
 * A ticket's connection does not expire; `refresh` is for servers whose
 * query credential does (Options.Refresh).
 */
export async function connectQuery(url, ticket, { param = 'ticket', protocols, refresh } = {}) {
  const u = new URL(url);
  u.searchParams.set(param, ticket);
  const ws = new WebSocket(u.toString(), protocols);
  const sock = new AuthSocket(ws, { refresh });
  sock._ready = true;
  await open(ws);
  return sock;
}

/**
 * connectSubprotocol opens url offering [app, "wsauth.bearer." +
 * base64url(credential)] in Sec-WebSocket-Protocol. The server must select
 * app; a server that selects nothing makes the browser fail the connection.
 * With `refresh`, on a server with Options.Refresh, a credential that
 * expires is refreshed in place (see the top of this file).
 */
export async function connectSubprotocol(url, credential, app = DEFAULT_PROTOCOL, { refresh } = {}) {
  const ws = new WebSocket(url, [app, bearerProtocol(credential)]);
  const sock = new AuthSocket(ws, { refresh });
  sock._ready = true;
  await open(ws);
  if (ws.protocol !== app) {
    ws.close(1002, 'subprotocol not negotiated');
    throw new CloseError(1002, 'subprotocol not negotiated');
  }
  return sock;
}

/**
 * connectFirstMessage opens url, sends {"type":"auth","token":credential}
 * as the first frame and resolves once the server answers
 * {"type":"auth_ok","subject":…,"expires_at":…}, with the AuthSocket and
 * that answer as sock.authOK. Servers wait a limited time (10 s by
 * default) for the auth frame: send nothing else first. With `refresh`, a
 * credential that expires is refreshed in place (see the top of this
 * file).
 */
export async function connectFirstMessage(url, credential, { protocols, refresh } = {}) {
  const ws = new WebSocket(url, protocols);
  const sock = new AuthSocket(ws, { refresh, control: true });
  await open(ws);
  const reply = new Promise((resolve, reject) => {
    const onClose = (e) => reject(new CloseError(e.code, e.reason));
    ws.addEventListener('close', onClose, { once: true });
    ws.addEventListener('message', (e) => {
      ws.removeEventListener('close', onClose);
      let m = null;
      try {
        m = JSON.parse(e.data);
      } catch {
        // not JSON: refused below
      }
      if (!m || m.type !== 'auth_ok') {
        ws.close(1002, 'expected auth_ok');
        reject(new CloseError(1002, 'expected auth_ok'));
        return;
      }
      // From here on frames are the app's; set it now, as the next
      // frame may already be queued behind this one.
      sock._ready = true;
      resolve(m);
    }, { once: true });
  });
  ws.send(JSON.stringify({ type: 'auth', token: credential }));
  sock.authOK = await reply;
  return sock;
}

/**
 * TokenSocket is the AuthSocket of per-message mode: send(data) wraps data
 * in the envelope {"token":token,"data":data} with the current token.
 * setToken replaces the token for later frames: the server keeps the
 * connection only as long as the newest token it has seen is valid, and
 * then closes it with 4401. refresh(token) sets it and sends keepAlive
 * right away, so that the server sees it even if the user is idle.
 */
export class TokenSocket extends AuthSocket {
  constructor(ws, token, { refresh, keepAlive = {} } = {}) {
    super(ws, { refresh, control: true });
    this.token = token;
    this.keepAlive = keepAlive;
  }

  setToken(token) {
    this.token = token;
  }

  /** send sends data (any JSON value) in an envelope. */
  send(data) {
    this.ws.send(JSON.stringify({ token: this.token, data }));
  }

  /** refresh makes token current and sends it in a keep-alive envelope. */
  async refresh(token) {
    this.setToken(token);
    this.send(this.keepAlive);
    return { token };
  }
}

/**
 * connectPerMessage opens url for per-message mode: every frame sent
 * carries token. The server authenticates the first frame, which must
 * come within its auth timeout, so pass first (any JSON value) to send one
 * right away; otherwise send something soon. With `refresh`, the token is
 * replaced before it expires (see the top of this file); keepAlive is the
 * data of the envelope that carries it if nothing else does (default {}).
 */
export async function connectPerMessage(url, token, { first, protocols, refresh, keepAlive } = {}) {
  const ws = new WebSocket(url, protocols);
  const sock = new TokenSocket(ws, token, { refresh, keepAlive });
  sock._ready = true;
  await open(ws);
  if (first !== undefined) sock.send(first);
  return sock;
}
