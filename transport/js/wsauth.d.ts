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
export declare const VERSION = "0.1.0";
/** The Sec-WebSocket-Protocol entry that carries a credential starts so. */
export declare const BEARER_PREFIX = "wsauth.bearer.";
/** The application protocol offered when the application has none. */
export declare const DEFAULT_PROTOCOL = "wsauth";
/** The longest credential, in bytes, any carrier takes. */
export declare const MAX_CREDENTIAL_LENGTH = 8192;
/** Close codes: those a wsauth server sends, and the standard ones the client acts on. */
export declare const CLOSE: Readonly<{
    NORMAL: 1000;
    GOING_AWAY: 1001;
    PROTOCOL_ERROR: 1002;
    NO_STATUS: 1005;
    ABNORMAL: 1006;
    TOO_LARGE: 1009;
    INTERNAL_ERROR: 1011;
    SERVICE_RESTART: 1012;
    TRY_AGAIN_LATER: 1013;
    BAD_GATEWAY: 1014;
    MALFORMED: 4400;
    UNAUTHENTICATED: 4401;
    FORBIDDEN: 4403;
    AUTH_TIMEOUT: 4408;
    TOO_MANY_ATTEMPTS: 4429;
}>;
export type Carrier = 'query' | 'subprotocol' | 'first-message' | 'per-message';
export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';
export type CloseAction = 'retry' | 'renew' | 'wait' | 'stop';
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
export declare const CLOSE_ACTIONS: Readonly<Record<number, CloseAction>>;
export type AuthOK = {
    subject: string;
    expiresAt: Date | null;
};
export type CredentialRequest = {
    /**
     * why a credential is needed
     */
    reason: 'connect' | 'reconnect' | 'refresh';
    /**
     * failed attempts since the last authenticated connection
     */
    attempt: number;
    /**
     * how the last connection ended
     */
    lastClose: {
        code: number;
        reason: string;
    } | null;
    /**
     * aborted when the client is closed
     */
    signal: AbortSignal;
};
export type CredentialFunction = (request: CredentialRequest) => string | Promise<string>;
export type Backoff = {
    /**
     * default 1000
     */
    initial?: number;
    /**
     * default 30000
     */
    max?: number;
    /**
     * default 2
     */
    factor?: number;
    /**
     * 0 to 1, default 0.5
     */
    jitter?: number;
    /**
     * the least delay after a 'wait' close (4429), default 15000
     */
    wait?: number;
};
export type WebSocketLike = {
    protocol: string;
    binaryType: string;
    send: (data: any) => void;
    close: (code?: number, reason?: string) => void;
    addEventListener: (type: string, listener: (event: any) => void) => void;
};
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: any) => WebSocketLike;
export type ClientOptions = {
    /**
     * ws:, wss:, http:, https: or (in a page) relative; a function is called for every attempt
     */
    url: string | URL | (() => string | URL);
    /**
     * where the credential rides
     */
    carrier: Carrier;
    /**
     * called for every connect, reconnect and refresh
     */
    credential: CredentialFunction;
    /**
     * application subprotocols; the subprotocol carrier offers "wsauth" if there are none
     */
    protocols?: string | string[];
    /**
     * the query parameter of the query carrier, default "ticket"
     */
    param?: string;
    /**
     * query and subprotocol: the server sends auth_ok and expiring (wsauth's InBand), default true; false resolves on open
     */
    inBand?: boolean;
    /**
     * per-message: the data of the first envelope, which authenticates, default null
     */
    first?: unknown;
    /**
     * refresh the credential in place when the server says expiring, default true
     */
    refresh?: boolean;
    /**
     * reconnect after a close, default true
     */
    reconnect?: boolean;
    /**
     * failed attempts in a row before giving up, default Infinity
     */
    retries?: number;
    /**
     * delays between attempts
     */
    backoff?: Backoff;
    /**
     * overrides CLOSE_ACTIONS per code
     */
    closeActions?: Record<number, CloseAction>;
    /**
     * messages kept while not open, default 0: send throws instead
     */
    queue?: number;
    /**
     * ms from dialing to auth_ok (and for a refresh's auth_ok), default 15000
     */
    timeout?: number;
    /**
     * default globalThis.WebSocket
     */
    WebSocket?: WebSocketConstructor;
    /**
     * third argument of the WebSocket constructor (the ws package's options: headers, localAddress, agent…)
     */
    wsOptions?: unknown;
};
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob;
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
export declare class CloseError extends Error {
    /** @type {number} */
    code: number;
    /** @type {string} */
    reason: string;
    /** @type {boolean} */
    wasClean: boolean;
    /**
     * @param {number} code
     * @param {string} [reason]
     * @param {{ wasClean?: boolean, cause?: unknown }} [options]
     */
    constructor(code: number, reason?: string, options?: {
        wasClean?: boolean;
        cause?: unknown;
    });
}
/** NotOpenError is a send refused: the client is not open (or its queue is full). */
export declare class NotOpenError extends Error {
    /** @type {State} */
    state: State;
    /** @type {boolean} */
    queueFull: boolean;
    /**
     * @param {State} state
     * @param {boolean} queueFull
     */
    constructor(state: State, queueFull: boolean);
}
/** 'statechange': the client moved from previous to state. */
export declare class StateChangeEvent extends Event {
    /** @type {State} */
    state: State;
    /** @type {State} */
    previous: State;
    /**
     * @param {State} state
     * @param {State} previous
     */
    constructor(state: State, previous: State);
}
/** 'open': a connection is open and authenticated. */
export declare class OpenEvent extends Event {
    /** @type {AuthOK | null} the server's auth_ok; null with inBand false */
    authOK: AuthOK | null;
    /** @type {string} the subprotocol the server selected */
    protocol: string;
    /** @type {boolean} whether an earlier connection of this client was open */
    reconnected: boolean;
    /**
     * @param {AuthOK | null} authOK
     * @param {string} protocol
     * @param {boolean} reconnected
     */
    constructor(authOK: AuthOK | null, protocol: string, reconnected: boolean);
}
/** 'message': a frame of the application (never auth_ok or expiring). */
export declare class ClientMessageEvent extends Event {
    /** @type {string | ArrayBuffer} text, or binary as an ArrayBuffer */
    data: string | ArrayBuffer;
    /** @param {string | ArrayBuffer} data */
    constructor(data: string | ArrayBuffer);
}
/** 'expiring': the server says the credential runs out in seconds. */
export declare class ExpiringEvent extends Event {
    /** @type {number} */
    seconds: number;
    /** @param {number} seconds */
    constructor(seconds: number);
}
/** 'refresh': a new credential was accepted in place. */
export declare class RefreshEvent extends Event {
    /** @type {AuthOK} */
    authOK: AuthOK;
    /** @param {AuthOK} authOK */
    constructor(authOK: AuthOK);
}
/** 'close': a connection (or an attempt) ended, or the client stopped. */
export declare class ClientCloseEvent extends Event {
    /** @type {number} */
    code: number;
    /** @type {string} */
    reason: string;
    /** @type {boolean} */
    wasClean: boolean;
    /** @type {boolean} */
    willReconnect: boolean;
    /** @type {number} ms until the next attempt; -1 if none */
    delay: number;
    /** @type {CloseError | null} the client's final error, when it stopped */
    error: CloseError | null;
    /**
     * @param {{ code: number, reason: string, wasClean: boolean, delay: number, error: CloseError | null }} init
     */
    constructor(init: {
        code: number;
        reason: string;
        wasClean: boolean;
        delay: number;
        error: CloseError | null;
    });
}
/** 'error': the credential function or a refresh failed. */
export declare class ClientErrorEvent extends Event {
    /** @type {unknown} */
    error: unknown;
    /** @type {'credential' | 'refresh'} */
    phase: 'credential' | 'refresh';
    /** @type {boolean} */
    willReconnect: boolean;
    /** @type {number} ms until the next attempt; -1 if none */
    delay: number;
    /**
     * @param {unknown} error
     * @param {'credential' | 'refresh'} phase
     * @param {number} delay
     */
    constructor(error: unknown, phase: 'credential' | 'refresh', delay: number);
}
export type ClientEventMap = {
    statechange: StateChangeEvent;
    open: OpenEvent;
    message: ClientMessageEvent;
    expiring: ExpiringEvent;
    refresh: RefreshEvent;
    close: ClientCloseEvent;
    error: ClientErrorEvent;
};
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
export declare function base64url(s: string): string;
/**
 * bearerProtocol returns the Sec-WebSocket-Protocol entry carrying
 * credential: BEARER_PREFIX + base64url(credential).
 * @param {string} credential
 * @returns {string}
 */
export declare function bearerProtocol(credential: string): string;
/**
 * WsauthClient is one logical connection to a wsauth endpoint, which it
 * opens, authenticates, refreshes and reopens as needed. Its state is
 * 'closed' until connect().
 */
export declare class WsauthClient extends EventTarget {
    #private;
    /** @param {ClientOptions} options */
    constructor(options: ClientOptions);
    /** @returns {State} */
    get state(): State;
    /** @returns {AuthOK | null} the latest auth_ok (after a refresh, its answer); null before the first or with inBand false */
    get authOK(): AuthOK | null;
    /** @returns {string} the subprotocol the server selected ('' if none or not open) */
    get protocol(): string;
    /** @returns {WebSocketLike | null} the current WebSocket, for what the client does not offer */
    get socket(): WebSocketLike | null;
    /** @returns {CloseError | null} why the client stopped, once it has */
    get closeError(): CloseError | null;
    /**
     * connect starts the client if it is closed, and resolves with it once a
     * connection is open and authenticated; it rejects with a CloseError if
     * the client stops first. On an open client it resolves at once; while
     * reconnecting, at the next open.
     * @returns {Promise<this>}
     */
    connect(): Promise<this>;
    /**
     * send sends a message: a string as a text frame, binary data as a
     * binary frame. In per-message mode the string must be JSON text and
     * goes in the envelope {"token":T,"data":…}, binary data in the binary
     * envelope. Not open, it is queued (option queue) or throws NotOpenError.
     * @param {SendData} data
     */
    send(data: SendData): void;
    /**
     * sendJSON sends JSON.stringify(value) as a text frame (per-message: as
     * the envelope's data).
     * @param {unknown} value
     */
    sendJSON(value: unknown): void;
    /**
     * refresh asks the credential function for a new credential (reason
     * 'refresh') and hands it over on the open connection with
     * {"type":"refresh","token":T}; it resolves with the server's auth_ok,
     * or rejects (a CloseError if the server closes instead: 4401, 4403).
     * The client calls it by itself on expiring (option refresh).
     * @returns {Promise<AuthOK>}
     */
    refresh(): Promise<AuthOK>;
    /**
     * close stops the client: no more attempts, the connection (if any)
     * closed with code and reason, pending connect() calls rejected with a
     * CloseError of that code, the send queue dropped. code is 1000 or
     * 3000 to 4999, as browsers allow.
     * @param {number} [code]
     * @param {string} [reason]
     */
    close(code?: number, reason?: string): void;
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
    addEventListener<K extends keyof ClientEventMap>(type: K, listener: (this: WsauthClient, ev: ClientEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
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
    addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
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
    removeEventListener<K extends keyof ClientEventMap>(type: K, listener: (this: WsauthClient, ev: ClientEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
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
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
/**
 * connect makes a WsauthClient with options and resolves with it once it
 * is open and authenticated (see WsauthClient.connect).
 * @param {ClientOptions} options
 * @returns {Promise<WsauthClient>}
 */
export declare function connect(options: ClientOptions): Promise<WsauthClient>;
export type CarrierOptions = Omit<ClientOptions, 'url' | 'carrier' | 'credential'>;
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
export declare function connectQuery(url: ClientOptions['url'], credential: CredentialFunction, options?: CarrierOptions): Promise<WsauthClient>;
/**
 * connectSubprotocol: connect with the credential in Sec-WebSocket-Protocol.
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export declare function connectSubprotocol(url: ClientOptions['url'], credential: CredentialFunction, options?: CarrierOptions): Promise<WsauthClient>;
/**
 * connectFirstMessage: connect with the credential in the first frame.
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export declare function connectFirstMessage(url: ClientOptions['url'], credential: CredentialFunction, options?: CarrierOptions): Promise<WsauthClient>;
/**
 * connectPerMessage: connect with the credential on every frame.
 * @param {ClientOptions['url']} url
 * @param {CredentialFunction} credential
 * @param {CarrierOptions} [options]
 * @returns {Promise<WsauthClient>}
 */
export declare function connectPerMessage(url: ClientOptions['url'], credential: CredentialFunction, options?: CarrierOptions): Promise<WsauthClient>;
