// @ts-check
/**
 * @wsauth/client: the browser and Node client of wsauth, the Go library
 * that authenticates WebSocket connections in net/http servers.
 *
 * One client, WsauthClient, speaks the four carriers of a credential
 * (query, subprotocol, first-message, per-message; see transport/doc.go),
 * with one promise contract: connect() resolves once the connection is
 * open and authenticated (the server's auth_ok), and rejects with a
 * CloseError otherwise. It asks the application for a credential (an
 * async function) on every connect, every reconnect and every refresh,
 * reconnects by close code with exponential backoff and jitter, and
 * refreshes the credential in place when the server says it is expiring.
 *
 * No dependencies, no build step: an ES module for browsers and Node 20+
 * (pass a WebSocket implementation, such as the ws package's, in Node).
 * README.md is the reference.
 *
 * @module @wsauth/client
 */

/** The package version. */
export const VERSION = '0.1.0';

/** The Sec-WebSocket-Protocol entry that carries a credential starts so. */
export const BEARER_PREFIX = 'wsauth.bearer.';

/** The application protocol offered when the application has none. */
export const DEFAULT_PROTOCOL = 'wsauth';

/** The longest credential, in bytes, any carrier takes. */
export const MAX_CREDENTIAL_LENGTH = 8192;

/** Close codes: those a wsauth server sends, and the standard ones the client acts on. */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  TOO_LARGE: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
  MALFORMED: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  AUTH_TIMEOUT: 4408,
  TOO_MANY_ATTEMPTS: 4429,
});

/**
 * Where the credential rides.
 * @typedef {'query' | 'subprotocol' | 'first-message' | 'per-message'} Carrier
 */

/**
 * The client's state.
 * @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} State
 */

/**
 * What the client does after a close: reconnect after a backoff ('retry'),
 * reconnect at once with a new credential unless the last attempt ended so
 * too ('renew'), reconnect after a long backoff ('wait'), or give up
 * ('stop').
 * @typedef {'retry' | 'renew' | 'wait' | 'stop'} CloseAction
 */

/**
 * The default action per close code; every code not listed stops.
 * @type {Readonly<Record<number, CloseAction>>}
 */
export const CLOSE_ACTIONS = Object.freeze({
  1001: 'retry',
  1005: 'retry',
  1006: 'retry',
  1011: 'retry',
  1012: 'retry',
  1013: 'retry',
  1014: 'retry',
  4408: 'retry',
  4401: 'renew',
  4429: 'wait',
  4400: 'stop',
  4403: 'stop',
});

/**
 * The server's auth_ok: who the connection is authenticated as, and until
 * when (null: never expires).
 * @typedef {object} AuthOK
 * @property {string} subject
 * @property {Date | null} expiresAt
 */

/**
 * What the credential function is told.
 * @typedef {object} CredentialRequest
 * @property {'connect' | 'reconnect' | 'refresh'} reason why a credential is needed
 * @property {number} attempt failed attempts since the last authenticated connection
 * @property {{ code: number, reason: string } | null} lastClose how the last connection ended
 * @property {AbortSignal} signal aborted when the client is closed
 */

/**
 * Returns a credential (a ticket, a token). Throw to fail the attempt: it
 * is retried with backoff, unless the error has `retry: false`, which
 * stops the client.
 * @typedef {(request: CredentialRequest) => string | Promise<string>} CredentialFunction
 */

/**
 * Backoff between attempts, in milliseconds: the n-th consecutive failure
 * waits d = min(max, initial × factor^(n−1)) (for 'wait', at least wait),
 * then a uniform random value in [d × (1 − jitter), d].
 * @typedef {object} Backoff
 * @property {number} [initial] default 1000
 * @property {number} [max] default 30000
 * @property {number} [factor] default 2
 * @property {number} [jitter] 0 to 1, default 0.5
 * @property {number} [wait] the least delay after a 'wait' close (4429), default 15000
 */

/**
 * The minimal WebSocket the client needs: the browser's, or the ws
 * package's.
 * @typedef {object} WebSocketLike
 * @property {string} protocol
 * @property {string} binaryType
 * @property {(data: any) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {(type: string, listener: (event: any) => void) => void} addEventListener
 */

/**
 * @typedef {new (url: string, protocols?: string | string[], options?: any) => WebSocketLike} WebSocketConstructor
 */

/**
 * Options of WsauthClient. url, carrier and credential are required.
 * @typedef {object} ClientOptions
 * @property {string | URL | (() => string | URL)} url ws:, wss:, http:, https: or (in a page) relative; a function is called for every attempt
 * @property {Carrier} carrier where the credential rides
 * @property {CredentialFunction} credential called for every connect, reconnect and refresh
 * @property {string | string[]} [protocols] application subprotocols; the subprotocol carrier offers "wsauth" if there are none
 * @property {string} [param] the query parameter of the query carrier, default "ticket"
 * @property {boolean} [inBand] query and subprotocol: the server sends auth_ok and expiring (wsauth's InBand), default true; false resolves on open
 * @property {unknown} [first] per-message: the data of the first envelope, which authenticates, default null
 * @property {boolean} [refresh] refresh the credential in place when the server says expiring, default true
 * @property {boolean} [reconnect] reconnect after a close, default true
 * @property {number} [retries] failed attempts in a row before giving up, default Infinity
 * @property {Backoff} [backoff] delays between attempts
 * @property {Record<number, CloseAction>} [closeActions] overrides CLOSE_ACTIONS per code
 * @property {number} [queue] messages kept while not open, default 0: send throws instead
 * @property {number} [timeout] ms from dialing to auth_ok (and for a refresh's auth_ok), default 15000
 * @property {WebSocketConstructor} [WebSocket] default globalThis.WebSocket
 * @property {unknown} [wsOptions] third argument of the WebSocket constructor (the ws package's options: headers, localAddress, agent…)
 */

/**
 * What send takes: a string, or binary data (Blob not in per-message).
 * @typedef {string | ArrayBuffer | ArrayBufferView | Blob} SendData
 */

/**
 * CloseError is why a connection, or the client, ended: the close code and
 * reason of the server, or of the client itself (1002 when the server broke
 * the wire contract, 4408 when no auth_ok came in time).
 */
export class CloseError extends Error {
  /**
   * @param {number} code
   * @param {string} [reason]
   * @param {{ wasClean?: boolean, cause?: unknown }} [options]
   */
  constructor(code, reason = '', options = {}) {
    super(`closed ${code}${reason ? ' ' + reason : ''}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloseError';
    /** @type {number} */
    this.code = code;
    /** @type {string} */
    this.reason = reason;
    /** @type {boolean} */
    this.wasClean = options.wasClean ?? false;
  }
}

/** NotOpenError is a send refused: the client is not open (or its queue is full). */
export class NotOpenError extends Error {
  /**
   * @param {State} state
   * @param {boolean} queueFull
   */
  constructor(state, queueFull) {
    super(queueFull ? `wsauth: not open (${state}) and the send queue is full` : `wsauth: not open (${state})`);
    this.name = 'NotOpenError';
    /** @type {State} */
    this.state = state;
    /** @type {boolean} */
    this.queueFull = queueFull;
  }
}

/** 'statechange': the client moved from previous to state. */
export class StateChangeEvent extends Event {
  /**
   * @param {State} state
   * @param {State} previous
   */
  constructor(state, previous) {
    super('statechange');
    /** @type {State} */
    this.state = state;
    /** @type {State} */
    this.previous = previous;
  }
}

/** 'open': a connection is open and authenticated. */
export class OpenEvent extends Event {
  /**
   * @param {AuthOK | null} authOK
   * @param {string} protocol
   * @param {boolean} reconnected
   */
  constructor(authOK, protocol, reconnected) {
    super('open');
    /** @type {AuthOK | null} the server's auth_ok; null with inBand false */
    this.authOK = authOK;
    /** @type {string} the subprotocol the server selected */
    this.protocol = protocol;
    /** @type {boolean} whether an earlier connection of this client was open */
    this.reconnected = reconnected;
  }
}

/** 'message': a frame of the application (never auth_ok or expiring). */
export class ClientMessageEvent extends Event {
  /** @param {string | ArrayBuffer} data */
  constructor(data) {
    super('message');
    /** @type {string | ArrayBuffer} text, or binary as an ArrayBuffer */
    this.data = data;
  }
}

/** 'expiring': the server says the credential runs out in seconds. */
export class ExpiringEvent extends Event {
  /** @param {number} seconds */
  constructor(seconds) {
    super('expiring');
    /** @type {number} */
    this.seconds = seconds;
  }
}

/** 'refresh': a new credential was accepted in place. */
export class RefreshEvent extends Event {
  /** @param {AuthOK} authOK */
  constructor(authOK) {
    super('refresh');
    /** @type {AuthOK} */
    this.authOK = authOK;
  }
}

/** 'close': a connection (or an attempt) ended, or the client stopped. */
export class ClientCloseEvent extends Event {
  /**
   * @param {{ code: number, reason: string, wasClean: boolean, delay: number, error: CloseError | null }} init
   */
  constructor(init) {
    super('close');
    /** @type {number} */
    this.code = init.code;
    /** @type {string} */
    this.reason = init.reason;
    /** @type {boolean} */
    this.wasClean = init.wasClean;
    /** @type {boolean} */
    this.willReconnect = init.delay >= 0;
    /** @type {number} ms until the next attempt; -1 if none */
    this.delay = init.delay;
    /** @type {CloseError | null} the client's final error, when it stopped */
    this.error = init.error;
  }
}

/** 'error': the credential function or a refresh failed. */
export class ClientErrorEvent extends Event {
  /**
   * @param {unknown} error
   * @param {'credential' | 'refresh'} phase
   * @param {number} delay
   */
  constructor(error, phase, delay) {
    super('error');
    /** @type {unknown} */
    this.error = error;
    /** @type {'credential' | 'refresh'} */
    this.phase = phase;
    /** @type {boolean} */
    this.willReconnect = delay >= 0;
    /** @type {number} ms until the next attempt; -1 if none */
    this.delay = delay;
  }
}

/**
 * @typedef {object} ClientEventMap
 * @property {StateChangeEvent} statechange
 * @property {OpenEvent} open
 * @property {ClientMessageEvent} message
 * @property {ExpiringEvent} expiring
 * @property {RefreshEvent} refresh
 * @property {ClientCloseEvent} close
 * @property {ClientErrorEvent} error
 */

/**
 * base64url returns the UTF-8 bytes of s in base64url without padding
 * (RFC 4648 section 5).
 * @param {string} s
 * @returns {string}
 */
export function base64url(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * bearerProtocol returns the Sec-WebSocket-Protocol entry carrying
 * credential: BEARER_PREFIX + base64url(credential).
 * @param {string} credential
 * @returns {string}
 */
export function bearerProtocol(credential) {
  return BEARER_PREFIX + base64url(credential);
}

/**
 * checkCredential throws unless c is a credential every carrier can carry:
 * 1 to MAX_CREDENTIAL_LENGTH bytes of visible ASCII other than '"' and '\'.
 * @param {unknown} c
 * @returns {asserts c is string}
 */
function checkCredential(c) {
  let ok = typeof c === 'string' && c.length > 0 && c.length <= MAX_CREDENTIAL_LENGTH;
  for (let i = 0; ok && i < /** @type {string} */ (c).length; i++) {
    const b = /** @type {string} */ (c).charCodeAt(i);
    ok = b > 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c;
  }
  if (!ok) {
    throw Object.assign(new TypeError('wsauth: the credential function returned no valid credential (1 to 8192 bytes of visible ASCII, no quote or backslash)'), { retry: false });
  }
}

/**
 * resolveURL resolves u against the page (if any) and maps http(s) to
 * ws(s).
 * @param {string | URL} u
 * @returns {URL}
 */
function resolveURL(u) {
  const url = new URL(String(u), globalThis.location?.href);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`wsauth: not a WebSocket URL: ${url.protocol}`);
  return url;
}

/**
 * parseTime parses an RFC 3339 time (with up to nanoseconds), or returns
 * null.
 * @param {unknown} s
 * @returns {Date | null}
 */
function parseTime(s) {
  if (typeof s !== 'string' || s === '') return null;
  let d = new Date(s);
  if (Number.isNaN(d.getTime())) d = new Date(s.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * controlFrame returns the wsauth control frame in data (auth_ok,
 * expiring), or null if data is the application's.
 * @param {string} data
 * @returns {{ type: 'auth_ok', ok: AuthOK } | { type: 'expiring', seconds: number } | null}
 */
function controlFrame(data) {
  if (!data.includes('"auth_ok"') && !data.includes('"expiring"')) return null;
  let m;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
  if (m.type === 'auth_ok' && typeof m.subject === 'string') {
    return { type: 'auth_ok', ok: { subject: m.subject, expiresAt: parseTime(m.expires_at) } };
  }
  if (m.type === 'expiring' && typeof m.in === 'number') return { type: 'expiring', seconds: m.in };
  return null;
}

/**
 * bytesOf returns binary data as a Uint8Array view.
 * @param {ArrayBuffer | ArrayBufferView} b
 * @returns {Uint8Array}
 */
function bytesOf(b) {
  return ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
}

/**
 * binaryEnvelope returns the per-message binary frame: token length
 * (uint16, big-endian), token, payload.
 * @param {string} token
 * @param {ArrayBuffer | ArrayBufferView} payload
 * @returns {Uint8Array}
 */
function binaryEnvelope(token, payload) {
  const p = bytesOf(payload);
  const out = new Uint8Array(2 + token.length + p.byteLength);
  out[0] = token.length >>> 8;
  out[1] = token.length & 0xff;
  for (let i = 0; i < token.length; i++) out[2 + i] = token.charCodeAt(i);
  out.set(p, 2 + token.length);
  return out;
}

/**
 * WsauthClient is one logical connection to a wsauth endpoint, which it
 * opens, authenticates, refreshes and reopens as needed. Its state is
 * 'closed' until connect().
 */
export class WsauthClient extends EventTarget {
  /** @type {Required<Omit<ClientOptions, 'url' | 'backoff' | 'closeActions' | 'protocols' | 'wsOptions' | 'first' | 'WebSocket'>> & { backoff: Required<Backoff>, closeActions: Record<number, CloseAction>, protocols: string[], wsOptions: unknown, WebSocket: WebSocketConstructor }} */
  #o;
  /** @type {URL | (() => string | URL)} */
  #url;
  /** @type {string} */
  #first;
  /** @type {boolean} */
  #inBand;
  /** @type {State} */
  #state = 'closed';
  /** @type {WebSocketLike | null} */
  #socket = null;
  #authPending = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #authTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer;
  /** @type {AbortController} */
  #abort = new AbortController();
  #gen = 0; // bumped by every attempt and stop, so that stale callbacks do nothing
  #failures = 0;
  #renewed = false;
  #opened = false;
  /** @type {{ code: number, reason: string } | null} */
  #lastClose = null;
  #token = '';
  /** @type {({ text: string } | { binary: ArrayBuffer | ArrayBufferView | Blob })[]} what send was given while not open */
  #queue = [];
  /** @type {{ resolve: (c: WsauthClient) => void, reject: (e: CloseError) => void }[]} */
  #waiters = [];
  /** @type {{ ws: WebSocketLike, p: Promise<AuthOK> } | null} the refresh under way, and the socket it is for */
  #refreshing = null;
  /** @type {{ resolve: (ok: AuthOK) => void, reject: (e: unknown) => void, timer: ReturnType<typeof setTimeout> } | null} */
  #refreshWaiter = null;
  /** @type {AuthOK | null} */
  #authOK = null;
  /** @type {CloseError | null} */
  #closeError = null;

  /** @param {ClientOptions} options */
  constructor(options) {
    super();
    const o = options ?? /** @type {ClientOptions} */ ({});
    const carriers = ['query', 'subprotocol', 'first-message', 'per-message'];
    if (!carriers.includes(o.carrier)) throw new TypeError(`wsauth: carrier must be one of ${carriers.join(', ')}`);
    if (typeof o.credential !== 'function') throw new TypeError('wsauth: credential must be a function returning a credential');
    const WS = o.WebSocket ?? /** @type {WebSocketConstructor | undefined} */ (globalThis.WebSocket);
    if (typeof WS !== 'function') throw new TypeError('wsauth: no WebSocket: pass options.WebSocket (in Node, the ws package\'s)');
    this.#url = typeof o.url === 'function' ? o.url : resolveURL(o.url);
    const first = JSON.stringify(o.first ?? null);
    if (typeof first !== 'string') throw new TypeError('wsauth: first is not JSON');
    this.#first = first;
    const b = o.backoff ?? {};
    this.#o = {
      carrier: o.carrier,
      credential: o.credential,
      protocols: o.protocols === undefined ? [] : Array.isArray(o.protocols) ? [...o.protocols] : [o.protocols],
      param: o.param ?? 'ticket',
      inBand: o.inBand ?? true,
      refresh: o.refresh ?? true,
      reconnect: o.reconnect ?? true,
      retries: o.retries ?? Infinity,
      backoff: {
        initial: b.initial ?? 1000,
        max: b.max ?? 30_000,
        factor: b.factor ?? 2,
        jitter: Math.min(Math.max(b.jitter ?? 0.5, 0), 1),
        wait: b.wait ?? 15_000,
      },
      closeActions: { ...CLOSE_ACTIONS, ...o.closeActions },
      queue: o.queue ?? 0,
      timeout: o.timeout ?? 15_000,
      WebSocket: WS,
      wsOptions: o.wsOptions,
    };
    this.#inBand = this.#o.inBand || o.carrier === 'first-message' || o.carrier === 'per-message';
  }

  /** @returns {State} */
  get state() {
    return this.#state;
  }

  /** @returns {AuthOK | null} the latest auth_ok (after a refresh, its answer); null before the first or with inBand false */
  get authOK() {
    return this.#authOK;
  }

  /** @returns {string} the subprotocol the server selected ('' if none or not open) */
  get protocol() {
    return this.#socket?.protocol ?? '';
  }

  /** @returns {WebSocketLike | null} the current WebSocket, for what the client does not offer */
  get socket() {
    return this.#socket;
  }

  /** @returns {CloseError | null} why the client stopped, once it has */
  get closeError() {
    return this.#closeError;
  }

  /**
   * connect starts the client if it is closed, and resolves with it once a
   * connection is open and authenticated; it rejects with a CloseError if
   * the client stops first. On an open client it resolves at once; while
   * reconnecting, at the next open.
   * @returns {Promise<this>}
   */
  connect() {
    if (this.#state === 'open') return Promise.resolve(this);
    const p = /** @type {Promise<this>} */ (new Promise((resolve, reject) => this.#waiters.push({ resolve: /** @type {(c: WsauthClient) => void} */ (resolve), reject })));
    if (this.#state === 'closed') {
      this.#failures = 0;
      this.#renewed = false;
      this.#opened = false;
      this.#lastClose = null;
      this.#closeError = null;
      this.#authOK = null;
      this.#abort = new AbortController();
      this.#setState('connecting');
      this.#attempt('connect');
    }
    return p;
  }

  /**
   * send sends a message: a string as a text frame, binary data as a
   * binary frame. In per-message mode the string must be JSON text and
   * goes in the envelope {"token":T,"data":…}, binary data in the binary
   * envelope. Not open, it is queued (option queue) or throws NotOpenError.
   * @param {SendData} data
   */
  send(data) {
    if (typeof data === 'string') {
      if (this.#o.carrier === 'per-message') {
        try {
          JSON.parse(data);
        } catch {
          throw new TypeError('wsauth: per-message data must be JSON text (or use sendJSON)');
        }
      }
      this.#out({ text: data });
      return;
    }
    const isBlob = typeof Blob !== 'undefined' && data instanceof Blob;
    if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data) || isBlob)) throw new TypeError('wsauth: send takes a string, an ArrayBuffer, a view or a Blob');
    if (isBlob && this.#o.carrier === 'per-message') throw new TypeError('wsauth: per-message binary data must be an ArrayBuffer or a view, not a Blob');
    this.#out({ binary: data });
  }

  /**
   * sendJSON sends JSON.stringify(value) as a text frame (per-message: as
   * the envelope's data).
   * @param {unknown} value
   */
  sendJSON(value) {
    const text = JSON.stringify(value);
    if (typeof text !== 'string') throw new TypeError('wsauth: sendJSON: the value is not JSON');
    this.#out({ text });
  }

  /**
   * refresh asks the credential function for a new credential (reason
   * 'refresh') and hands it over on the open connection with
   * {"type":"refresh","token":T}; it resolves with the server's auth_ok,
   * or rejects (a CloseError if the server closes instead: 4401, 4403).
   * The client calls it by itself on expiring (option refresh).
   * @returns {Promise<AuthOK>}
   */
  refresh() {
    const ws = this.#socket;
    // A refresh of a lost socket is no answer for this one's expiry.
    if (this.#refreshing && this.#refreshing.ws === ws) return this.#refreshing.p;
    if (this.#state !== 'open' || !ws) return Promise.reject(new NotOpenError(this.#state, false));
    if (!this.#inBand) return Promise.reject(new TypeError('wsauth: refresh needs an in-band connection (inBand)'));
    const p = (async () => {
      const token = await this.#o.credential({ reason: 'refresh', attempt: 0, lastClose: this.#lastClose, signal: this.#abort.signal });
      checkCredential(token);
      if (ws !== this.#socket) throw this.#lostError();
      /** @type {Promise<AuthOK>} */
      const answer = new Promise((resolve, reject) => {
        const w = {
          resolve,
          reject,
          timer: setTimeout(() => {
            if (this.#refreshWaiter === w) this.#refreshWaiter = null;
            reject(new Error(`wsauth: no auth_ok within ${this.#o.timeout} ms of the refresh`));
          }, this.#o.timeout),
        };
        this.#refreshWaiter = w;
      });
      ws.send(`{"type":"refresh","token":"${token}"}`);
      const ok = await answer;
      if (ws === this.#socket) this.#token = token;
      this.dispatchEvent(new RefreshEvent(ok));
      return ok;
    })();
    this.#refreshing = { ws, p };
    const done = () => {
      if (this.#refreshing?.p === p) this.#refreshing = null;
    };
    p.then(done, done);
    return p;
  }

  /**
   * close stops the client: no more attempts, the connection (if any)
   * closed with code and reason, pending connect() calls rejected with a
   * CloseError of that code, the send queue dropped. code is 1000 or
   * 3000 to 4999, as browsers allow.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = 1000, reason = '') {
    if (code !== 1000 && (code < 3000 || code > 4999 || !Number.isInteger(code))) throw new RangeError('wsauth: close code must be 1000 or 3000 to 4999');
    if (new TextEncoder().encode(reason).length > 123) throw new RangeError('wsauth: close reason longer than 123 bytes');
    if (this.#state === 'closed') return;
    this.#stop(new CloseError(code, reason, { wasClean: true }), code, reason);
  }

  // Typed listeners: the event types of ClientEventMap, and any other.
  /**
   * @template {keyof ClientEventMap} K
   * @overload
   * @param {K} type
   * @param {(this: WsauthClient, ev: ClientEventMap[K]) => any} listener
   * @param {boolean | AddEventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @overload
   * @param {string} type
   * @param {EventListenerOrEventListenerObject | null} listener
   * @param {boolean | AddEventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @param {string} type
   * @param {any} listener
   * @param {boolean | AddEventListenerOptions} [options]
   * @returns {void}
   */
  addEventListener(type, listener, options) {
    super.addEventListener(type, listener, options);
  }

  /**
   * @template {keyof ClientEventMap} K
   * @overload
   * @param {K} type
   * @param {(this: WsauthClient, ev: ClientEventMap[K]) => any} listener
   * @param {boolean | EventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @overload
   * @param {string} type
   * @param {EventListenerOrEventListenerObject | null} listener
   * @param {boolean | EventListenerOptions} [options]
   * @returns {void}
   */
  /**
   * @param {string} type
   * @param {any} listener
   * @param {boolean | EventListenerOptions} [options]
   * @returns {void}
   */
  removeEventListener(type, listener, options) {
    super.removeEventListener(type, listener, options);
  }

  /** @param {State} state */
  #setState(state) {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.dispatchEvent(new StateChangeEvent(state, previous));
  }

  /** @param {'connect' | 'reconnect'} reason */
  async #attempt(reason) {
    const gen = ++this.#gen;
    this.#retryTimer = undefined;
    let cred;
    try {
      cred = await this.#o.credential({ reason, attempt: this.#failures, lastClose: this.#lastClose, signal: this.#abort.signal });
      checkCredential(cred);
    } catch (err) {
      if (gen === this.#gen) this.#credentialFailed(err);
      return;
    }
    if (gen !== this.#gen) return;
    this.#dial(cred);
  }

  /** @param {string} cred */
  #dial(cred) {
    const o = this.#o;
    /** @type {WebSocketLike} */
    let ws;
    try {
      const url = typeof this.#url === 'function' ? resolveURL(this.#url()) : new URL(this.#url.href);
      let protocols = o.protocols;
      if (o.carrier === 'query') url.searchParams.set(o.param, cred);
      if (o.carrier === 'subprotocol') protocols = [...this.#offered(), bearerProtocol(cred)];
      const p = protocols.length ? protocols : undefined;
      ws = o.wsOptions === undefined ? new o.WebSocket(url.href, p) : new o.WebSocket(url.href, p, o.wsOptions);
    } catch (err) {
      this.#stop(new CloseError(CLOSE.PROTOCOL_ERROR, 'cannot open the WebSocket', { cause: err }));
      return;
    }
    this.#socket = ws;
    this.#token = cred;
    this.#authPending = true;
    ws.binaryType = 'arraybuffer';
    this.#authTimer = setTimeout(() => this.#abandon(ws, CLOSE.AUTH_TIMEOUT, 'no auth_ok in time'), o.timeout);
    ws.addEventListener('open', () => this.#onOpen(ws));
    ws.addEventListener('message', (/** @type {{ data: string | ArrayBuffer }} */ e) => this.#onMessage(ws, e.data));
    ws.addEventListener('close', (/** @type {{ code: number, reason: string, wasClean: boolean }} */ e) => {
      if (ws !== this.#socket) return;
      this.#detach(e.code, e.reason);
      this.#failed(e.code, e.reason, e.wasClean);
    });
    ws.addEventListener('error', () => {}); // a close follows
  }

  /** @returns {string[]} the application protocols the subprotocol carrier offers */
  #offered() {
    return this.#o.protocols.length ? this.#o.protocols : [DEFAULT_PROTOCOL];
  }

  /** @param {WebSocketLike} ws */
  #onOpen(ws) {
    if (ws !== this.#socket) return;
    const o = this.#o;
    if (o.carrier === 'subprotocol' && !this.#offered().includes(ws.protocol)) {
      this.#abandon(ws, CLOSE.PROTOCOL_ERROR, 'the server selected no offered subprotocol');
      return;
    }
    if (o.carrier === 'first-message') ws.send(`{"type":"auth","token":"${this.#token}"}`);
    else if (o.carrier === 'per-message') ws.send(`{"token":"${this.#token}","data":${this.#first}}`);
    else if (!this.#inBand) this.#authenticated(ws, null);
  }

  /**
   * @param {WebSocketLike} ws
   * @param {string | ArrayBuffer} data
   */
  #onMessage(ws, data) {
    if (ws !== this.#socket) return;
    const ctl = this.#inBand && typeof data === 'string' ? controlFrame(data) : null;
    if (ctl?.type === 'auth_ok') {
      if (this.#authPending) {
        this.#authenticated(ws, ctl.ok);
        return;
      }
      this.#authOK = ctl.ok;
      const w = this.#refreshWaiter;
      this.#refreshWaiter = null;
      if (w) {
        clearTimeout(w.timer);
        w.resolve(ctl.ok);
      }
      return;
    }
    if (ctl?.type === 'expiring') {
      if (this.#authPending) return;
      this.dispatchEvent(new ExpiringEvent(ctl.seconds));
      if (this.#o.refresh && this.#refreshing?.ws !== ws && ws === this.#socket) {
        this.refresh().catch((err) => {
          if (ws === this.#socket) this.dispatchEvent(new ClientErrorEvent(err, 'refresh', -1));
        });
      }
      return;
    }
    if (this.#authPending) {
      this.#abandon(ws, CLOSE.PROTOCOL_ERROR, 'the first frame was not auth_ok');
      return;
    }
    this.dispatchEvent(new ClientMessageEvent(data));
  }

  /**
   * @param {WebSocketLike} ws
   * @param {AuthOK | null} ok
   */
  #authenticated(ws, ok) {
    clearTimeout(this.#authTimer);
    this.#authPending = false;
    this.#authOK = ok;
    this.#failures = 0;
    this.#renewed = false;
    const reconnected = this.#opened;
    this.#opened = true;
    // What was queued goes first, before anything a listener sends.
    for (const m of this.#queue.splice(0)) this.#write(ws, m);
    const gen = this.#gen;
    this.#setState('open');
    if (gen !== this.#gen) return;
    this.dispatchEvent(new OpenEvent(ok, ws.protocol, reconnected));
    if (gen !== this.#gen) return;
    for (const w of this.#waiters.splice(0)) w.resolve(this);
  }

  /**
   * detach forgets the current socket: its later events are ignored.
   * @param {number} code
   * @param {string} reason
   */
  #detach(code, reason) {
    this.#socket = null;
    this.#authPending = false;
    clearTimeout(this.#authTimer);
    const w = this.#refreshWaiter;
    this.#refreshWaiter = null;
    if (w) {
      clearTimeout(w.timer);
      w.reject(new CloseError(code, reason));
    }
  }

  /**
   * abandon closes ws for a reason of the client's and handles it as a
   * close with code.
   * @param {WebSocketLike} ws
   * @param {number} code
   * @param {string} reason
   */
  #abandon(ws, code, reason) {
    if (ws !== this.#socket) return;
    this.#detach(code, reason);
    try {
      ws.close(code >= 3000 ? code : 1000, reason);
    } catch {
      // closing anyway
    }
    this.#failed(code, reason, false);
  }

  /** @returns {CloseError} the error of a connection lost meanwhile */
  #lostError() {
    const c = this.#lastClose;
    return new CloseError(c?.code ?? CLOSE.ABNORMAL, c?.reason ?? 'connection lost');
  }

  /**
   * delay returns the backoff before the next attempt.
   * @param {boolean} wait
   * @returns {number}
   */
  #delay(wait) {
    const b = this.#o.backoff;
    let d = Math.min(b.max, b.initial * b.factor ** Math.max(this.#failures - 1, 0));
    if (wait) d = Math.max(d, b.wait);
    return Math.round(d * (1 - b.jitter * Math.random()));
  }

  /**
   * failed handles the end of a connection or an attempt: reconnect, by
   * the close code's action, or stop.
   * @param {number} code
   * @param {string} reason
   * @param {boolean} wasClean
   */
  #failed(code, reason, wasClean) {
    this.#lastClose = { code, reason };
    const o = this.#o;
    const action = o.closeActions[code] ?? 'stop';
    this.#failures++;
    let delay = -1;
    if (o.reconnect && action !== 'stop' && this.#failures <= o.retries) {
      if (action === 'renew') {
        if (!this.#renewed) delay = 0;
        this.#renewed = true;
      } else {
        delay = this.#delay(action === 'wait');
      }
    }
    if (delay < 0) {
      this.#stop(new CloseError(code, reason, { wasClean }));
      return;
    }
    this.#retry({ code, reason, wasClean, delay, error: null }, null);
  }

  /** @param {unknown} err */
  #credentialFailed(err) {
    const o = this.#o;
    const fatal = err !== null && typeof err === 'object' && /** @type {{ retry?: unknown }} */ (err).retry === false;
    this.#failures++;
    const delay = !fatal && o.reconnect && this.#failures <= o.retries ? this.#delay(false) : -1;
    const gen = this.#gen;
    this.dispatchEvent(new ClientErrorEvent(err, 'credential', delay));
    if (gen !== this.#gen) return;
    if (delay < 0) {
      const c = this.#lastClose;
      this.#stop(new CloseError(c?.code ?? CLOSE.UNAUTHENTICATED, c?.reason ?? 'no credential', { cause: err }));
      return;
    }
    this.#retry(null, delay);
  }

  /**
   * retry moves to 'reconnecting', reports the close (if any) and
   * schedules the next attempt.
   * @param {{ code: number, reason: string, wasClean: boolean, delay: number, error: null } | null} close
   * @param {number | null} delay
   */
  #retry(close, delay) {
    const gen = this.#gen;
    this.#setState('reconnecting');
    if (gen !== this.#gen) return;
    if (close) this.dispatchEvent(new ClientCloseEvent(close));
    if (gen !== this.#gen) return;
    this.#retryTimer = setTimeout(() => this.#attempt('reconnect'), close ? close.delay : /** @type {number} */ (delay));
  }

  /**
   * stop ends the client with err: closes the socket (with code, if given),
   * reports the final close and rejects the waiting connect() calls.
   * @param {CloseError} err
   * @param {number} [code]
   * @param {string} [reason]
   */
  #stop(err, code, reason) {
    this.#gen++;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#abort.abort(err);
    const ws = this.#socket;
    if (ws) {
      this.#detach(err.code, err.reason);
      try {
        ws.close(code ?? 1000, reason ?? '');
      } catch {
        // closing anyway
      }
    }
    this.#queue.length = 0;
    this.#closeError = err;
    const waiters = this.#waiters.splice(0);
    this.#setState('closed');
    this.dispatchEvent(new ClientCloseEvent({ code: err.code, reason: err.reason, wasClean: err.wasClean, delay: -1, error: err }));
    for (const w of waiters) w.reject(err);
  }

  /** @param {{ text: string } | { binary: ArrayBuffer | ArrayBufferView | Blob }} m an outgoing message: text (JSON text in per-message) or binary */
  #out(m) {
    if (this.#state === 'open' && this.#socket) {
      this.#write(this.#socket, m);
      return;
    }
    if (this.#state !== 'closed' && this.#queue.length < this.#o.queue) {
      this.#queue.push(m);
      return;
    }
    throw new NotOpenError(this.#state, this.#state !== 'closed' && this.#o.queue > 0);
  }

  /**
   * @param {WebSocketLike} ws
   * @param {{ text: string } | { binary: ArrayBuffer | ArrayBufferView | Blob }} m
   */
  #write(ws, m) {
    if (this.#o.carrier !== 'per-message') {
      ws.send('text' in m ? m.text : m.binary);
    } else if ('text' in m) {
      ws.send(`{"token":"${this.#token}","data":${m.text}}`);
    } else {
      ws.send(binaryEnvelope(this.#token, /** @type {ArrayBuffer | ArrayBufferView} */ (m.binary)));
    }
  }
}

/**
 * connect makes a WsauthClient with options and resolves with it once it
 * is open and authenticated (see WsauthClient.connect).
 * @param {ClientOptions} options
 * @returns {Promise<WsauthClient>}
 */
export async function connect(options) {
  return new WsauthClient(options).connect();
}

/**
 * @typedef {Omit<ClientOptions, 'url' | 'carrier' | 'credential'>} CarrierOptions
 */

/**
 * connectQuery: connect with the credential in the query (a ticket).
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export async function connectQuery(url, credential, options = {}) {
  return connect({ ...options, url, credential, carrier: 'query' });
}

/**
 * connectSubprotocol: connect with the credential in Sec-WebSocket-Protocol.
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export async function connectSubprotocol(url, credential, options = {}) {
  return connect({ ...options, url, credential, carrier: 'subprotocol' });
}

/**
 * connectFirstMessage: connect with the credential in the first frame.
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export async function connectFirstMessage(url, credential, options = {}) {
  return connect({ ...options, url, credential, carrier: 'first-message' });
}

/**
 * connectPerMessage: connect with the credential on every frame.
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export async function connectPerMessage(url, credential, options = {}) {
  return connect({ ...options, url, credential, carrier: 'per-message' });
}
