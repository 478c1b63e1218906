// The chat page: log in, connect with one of the four strategies, chat,
// log out. The wire formats, reconnecting, and refreshing an access token
// in place when the server says it is expiring are the client's: the
// @wsauth/client package (transport/js), which the server serves at
// /wsauth.js. This file is the app around it.

import { WsauthClient } from './wsauth.js';

const $ = (id) => document.getElementById(id);

// The access token lives in memory only; the session cookie (HttpOnly) is
// what survives a reload, and /api/token trades it for a new token.
let access = null; // {token, expiresAt: Date, user}
// client is the WsauthClient of the connection shown; the events of one it
// replaced are ignored.
let client = null;
// attempt counts clicks on Connect, so that a connect that waited for a
// login in flight gives way to a later one.
let attempt = 0;

// The strategies, by the path segment of their endpoint, and the client's
// name of their carrier.
const CARRIER = { query: 'query', subprotocol: 'subprotocol', 'first-message': 'first-message', jwt: 'per-message' };

const NEED_LOGIN = 'error: log in first';

function setStatus(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.className = kind;
}

async function postJSON(path, body, signal) {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
    signal,
  });
}

// userOf reads the subject of a JWT for display; the server checks it.
function userOf(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64)).sub;
  } catch {
    return '?';
  }
}

// setUser shows the login line; an error is styled as one.
function setUser(text, error = false) {
  $('user').textContent = text;
  $('user').className = error ? 'error' : 'hint';
}

function setAccess(body) {
  access = { token: body.access_token, expiresAt: new Date(body.expires_at), user: userOf(body.access_token) };
  setUser(`logged in as ${access.user}`);
  $('login-form').hidden = true;
  $('logout-button').hidden = false;
  // "log in first" is answered now.
  if ($('status').textContent === NEED_LOGIN) setStatus('not connected');
}

// loggedOut shows the login form again.
function loggedOut(text = 'not logged in') {
  access = null;
  setUser(text);
  $('login-form').hidden = false;
  $('logout-button').hidden = true;
  $('login-password').value = '';
}

// noSession is what the credential function throws without a session
// (never logged in, logged out here or elsewhere): retry: false stops the
// client instead of trying again.
function noSession() {
  return Object.assign(new Error('not logged in (HTTP 401)'), { status: 401, retry: false });
}

// httpError fails a credential request; a server error is worth a retry,
// a refusal is not.
function httpError(what, res) {
  return Object.assign(new Error(`${what}: HTTP ${res.status}`), { status: res.status, retry: res.status >= 500 });
}

// loggingIn is the login in flight, so that a quick Connect waits for it.
let loggingIn = Promise.resolve();

function login(ev) {
  ev.preventDefault();
  loggingIn = loggingIn.then(doLogin).catch((err) => {
    setUser(`login failed: ${err.message}`, true);
  });
}

async function doLogin() {
  const res = await postJSON('/api/login', { username: $('login-username').value, password: $('login-password').value });
  if (!res.ok) {
    access = null;
    setUser(res.status === 401 ? 'wrong user name or password' : `login failed: HTTP ${res.status}`, true);
    return;
  }
  setAccess(await res.json());
}

// refreshAccess trades the session cookie for a new access token and
// returns it. Without a session it shows the login form and throws
// noSession.
async function refreshAccess(signal) {
  const res = await postJSON('/api/token', undefined, signal);
  if (res.status === 401) {
    loggedOut();
    throw noSession();
  }
  if (!res.ok) throw httpError('token', res);
  setAccess(await res.json());
  return access.token;
}

// fetchTicket asks for a single-use ticket for room.
async function fetchTicket(room, signal) {
  const res = await postJSON('/api/tickets', { room }, signal);
  if (res.status === 401) {
    loggedOut();
    throw noSession();
  }
  if (!res.ok) throw httpError('ticket', res);
  return (await res.json()).ticket;
}

// logout ends this session on the server, which closes every connection
// of the session, on every page and every node, with 4401 "logged out":
// the client asks for a new credential, finds the session gone and stops,
// and this page's status shows that close. The user's other sessions
// (another browser) go on. A logout the server could not record keeps the
// session, and its cookie: the page says so, and the button stays, to try
// again.
async function logout() {
  const token = access?.token;
  let res;
  try {
    res = await postJSON('/api/logout', token ? { access_token: token } : {});
  } catch (err) {
    res = { ok: false, status: err.message };
  }
  if (!res.ok) {
    setUser(`logout failed (HTTP ${res.status}): still logged in${access ? ` as ${access.user}` : ''}; try again`, true);
    return;
  }
  loggedOut();
}

function addMessage(m, room) {
  const li = document.createElement('li');
  li.className = 'message';
  const where = document.createElement('span');
  where.className = 'room';
  where.textContent = `#${room}`;
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = m.from;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  const at = document.createElement('time');
  at.dateTime = m.at;
  at.textContent = new Date(m.at).toLocaleTimeString();
  li.append(where, from, ': ', text, at);
  append(li);
}

function append(li) {
  const list = $('messages');
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

// shownRoom is the room of the messages shown last: connecting to another
// one draws a line, so that earlier messages are not taken for its own.
let shownRoom = null;

function enterRoom(room) {
  if (shownRoom === room) return;
  if (shownRoom !== null) {
    const li = document.createElement('li');
    li.className = 'divider';
    li.textContent = `#${room}`;
    append(li);
  }
  shownRoom = room;
}

function disconnect() {
  if (client) {
    const c = client;
    client = null;
    c.close(1000, 'bye');
  }
}

async function connect() {
  disconnect();
  const mine = ++attempt;
  await loggingIn;
  if (mine !== attempt) return;
  if (!access) {
    setStatus(NEED_LOGIN, 'error');
    return;
  }
  const strategy = $('strategy').value;
  const room = $('room').value;
  // query takes a ticket, jwt the access token; the other two either.
  const cred = strategy === 'query' ? 'ticket' : strategy === 'jwt' ? 'access' : $('credential').value;

  const c = new WsauthClient({
    url: `/ws/${strategy}/${encodeURIComponent(room)}`,
    carrier: CARRIER[strategy],
    protocols: strategy === 'subprotocol' ? ['chat.v1'] : undefined,
    // Called for the first connect, every reconnect (a single-use ticket
    // is gone by then; a token may have expired) and, on a connection an
    // access token opened, when the server says it is expiring.
    credential: async ({ reason, signal }) => {
      if (!access) throw noSession();
      if (cred === 'ticket' && reason !== 'refresh') return fetchTicket(room, signal);
      if (reason === 'connect' && access.expiresAt - Date.now() > 30_000) return access.token;
      return refreshAccess(signal);
    },
    // jwt: the first envelope authenticates and joins; {} posts nothing.
    first: {},
    // What is typed while reconnecting goes out once connected again.
    queue: 16,
  });
  client = c;
  let connected = '';
  let refreshed = 0;
  let closedBefore = false; // a connection of this client closed already
  c.addEventListener('open', (e) => {
    if (client !== c) return;
    connected = `connected as ${e.authOK?.subject ?? access?.user} to ${room} via ${strategy}`;
    refreshed = 0;
    setStatus(connected, 'connected');
  });
  c.addEventListener('refresh', () => {
    refreshed++;
    if (client === c) setStatus(`${connected} · token refreshed ${refreshed}×`, 'connected');
  });
  c.addEventListener('error', (e) => {
    if (client !== c) return;
    const why = e.error instanceof Error ? e.error.message : String(e.error);
    if (e.phase === 'refresh') setStatus(`${connected} · refresh failed: ${why}`, 'connected');
    else if (e.willReconnect) setStatus(`reconnecting… (${why})`, 'closed');
  });
  c.addEventListener('close', (e) => {
    if (client !== c) return;
    if (e.willReconnect) {
      closedBefore = true;
      setStatus(`reconnecting… (closed ${`${e.code} ${e.reason}`.trim()})`, 'closed');
      return;
    }
    client = null;
    // The client stopped: a refusal (4403, say), or a close after which
    // there was no credential to be had (logged out), or none at all.
    const cause = e.error?.cause;
    if (cause && !closedBefore) setStatus(`error: ${cause.message ?? cause}`, 'error');
    else setStatus(`closed ${e.code} ${e.reason}`.trim(), 'closed');
  });
  enterRoom(room);
  c.addEventListener('message', (e) => {
    try {
      addMessage(JSON.parse(e.data), room);
    } catch {
      // not a chat frame: ignore
    }
  });
  setStatus('connecting…');
  // The close listener shows why, if it fails.
  await c.connect().catch(() => {});
}

// The credential choice applies to subprotocol and first-message only;
// on the other two the box shows, disabled, what they send. The choice
// made for those two is kept.
let chosenCredential = $('credential').value;

function syncCredential() {
  const strategy = $('strategy').value;
  const fixed = { query: 'ticket', jwt: 'access' }[strategy];
  $('credential').disabled = fixed !== undefined;
  $('credential').value = fixed ?? chosenCredential;
}

function send(ev) {
  ev.preventDefault();
  const input = $('message-input');
  const text = input.value;
  if (text.trim() === '') return;
  if (!client) {
    notSent('connect first');
    return;
  }
  try {
    client.sendJSON({ text }); // per-message: the envelope is added
    input.value = '';
  } catch (err) {
    notSent(err.message);
  }
}

// notSent adds why a message did not go out to the status line, once.
function notSent(why) {
  const s = $('status');
  const base = s.textContent.replace(/ · not sent: .*$/, '');
  setStatus(`${base} · not sent: ${why}`, s.className);
}

$('login-form').addEventListener('submit', login);
$('logout-button').addEventListener('click', logout);
$('strategy').addEventListener('change', syncCredential);
$('credential').addEventListener('change', () => {
  chosenCredential = $('credential').value;
});
syncCredential();
$('connect-button').addEventListener('click', connect);
$('disconnect-button').addEventListener('click', () => {
  if (client) {
    disconnect();
    setStatus('disconnected');
  }
});
$('compose').addEventListener('submit', send);

// A session cookie from an earlier visit logs the page in.
loggingIn = refreshAccess().catch(() => {});
