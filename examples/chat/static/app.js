// The chat page: log in, connect with one of the four strategies, chat,
// log out. The wire formats, and refreshing an access token in place when
// the server says it is expiring, are wsauth.js's; this file is the app
// around them.

import {
  CLOSE,
  CloseError,
  connectFirstMessage,
  connectPerMessage,
  connectQuery,
  connectSubprotocol,
  fetchTicket,
  wsURL,
} from './wsauth.js';

const $ = (id) => document.getElementById(id);

// The access token lives in memory only; the session cookie (HttpOnly) is
// what survives a reload, and /api/token trades it for a new token.
let access = null; // {token, expiresAt: Date, user}
let sock = null;
// attempt counts connects, so that a connection replaced by a newer one
// does not report its (late) close over the new one's status.
let attempt = 0;

function setStatus(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.className = kind;
}

async function postJSON(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return res;
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

function setAccess(body) {
  access = { token: body.access_token, expiresAt: new Date(body.expires_at), user: userOf(body.access_token) };
  $('user').textContent = `logged in as ${access.user}`;
  $('login-form').hidden = true;
  $('logout-button').hidden = false;
}

// loggedOut shows the login form again.
function loggedOut(text = 'not logged in') {
  access = null;
  $('user').textContent = text;
  $('login-form').hidden = false;
  $('logout-button').hidden = true;
  $('login-password').value = '';
}

// loggingIn is the login in flight, so that a quick Connect waits for it.
let loggingIn = Promise.resolve();

function login(ev) {
  ev.preventDefault();
  loggingIn = loggingIn.then(doLogin).catch((err) => {
    $('user').textContent = `login failed: ${err.message}`;
  });
}

async function doLogin() {
  const res = await postJSON('/api/login', { username: $('login-username').value, password: $('login-password').value });
  if (!res.ok) {
    access = null;
    $('user').textContent = res.status === 401 ? 'wrong user name or password' : `login failed: HTTP ${res.status}`;
    return;
  }
  setAccess(await res.json());
}

// refreshAccess asks for a new access token with the session cookie.
// Without a session (never logged in, logged out, here or elsewhere) it
// shows the login form.
async function refreshAccess() {
  const res = await postJSON('/api/token');
  if (res.status === 401) loggedOut();
  if (!res.ok) return false;
  setAccess(await res.json());
  return true;
}

// freshToken is the refresh function handed to wsauth.js: called when a
// connection authenticated by an access token says it is expiring.
async function freshToken() {
  if (!(await refreshAccess())) throw new Error('no session: log in again');
  return access.token;
}

// logout ends the session on the server, which closes every connection of
// this user, on every page and every node, with 4401 "logged out": this
// page's status shows that close. The access token goes along so that it
// is refused from now on too.
async function logout() {
  const token = access?.token;
  let res;
  try {
    res = await postJSON('/api/logout', token ? { access_token: token } : {});
  } catch (err) {
    res = { ok: false, status: err.message };
  }
  if (!res.ok) {
    // The cookie is cleared anyway; close here what the server may not have.
    disconnect();
    loggedOut(`logged out here; the server said HTTP ${res.status}`);
    return;
  }
  loggedOut();
}

function addMessage(m) {
  const li = document.createElement('li');
  li.className = 'message';
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = m.from;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  const at = document.createElement('time');
  at.dateTime = m.at;
  at.textContent = new Date(m.at).toLocaleTimeString();
  li.append(from, ': ', text, at);
  const list = $('messages');
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

function disconnect() {
  if (sock) {
    const s = sock;
    sock = null;
    s.close(1000, 'bye');
  }
}

async function connect() {
  disconnect();
  const mine = ++attempt;
  await loggingIn;
  if (!access) {
    setStatus('error: log in first', 'error');
    return;
  }
  const strategy = $('strategy').value;
  const room = $('room').value;
  // query takes a ticket, jwt the access token; the other two either.
  const cred = strategy === 'query' ? 'ticket' : strategy === 'jwt' ? 'access' : $('credential').value;
  const url = wsURL(`/ws/${strategy}/${encodeURIComponent(room)}`);
  setStatus('connecting…');
  let s;
  try {
    let credential;
    if (cred === 'ticket') {
      credential = (await fetchTicket('/api/tickets', { room })).ticket;
    } else {
      if (access.expiresAt - Date.now() < 30_000) await refreshAccess();
      if (!access) throw Object.assign(new Error('not logged in'), { status: 401 });
      credential = access.token;
    }
    // A ticket's connection never expires, so refresh is only ever called
    // for an access token's: when the server sends {"type":"expiring"}.
    const refresh = freshToken;
    switch (strategy) {
      case 'query':
        s = await connectQuery(url, credential);
        break;
      case 'subprotocol':
        s = await connectSubprotocol(url, credential, 'chat.v1', { refresh });
        break;
      case 'first-message':
        s = await connectFirstMessage(url, credential, { refresh });
        break;
      case 'jwt':
        // The first envelope authenticates and joins; {} posts nothing,
        // and is also what carries a refreshed token when the user is idle.
        s = await connectPerMessage(url, credential, { first: {}, refresh, keepAlive: {} });
        break;
    }
  } catch (err) {
    if (mine !== attempt) return;
    if (err instanceof CloseError) setStatus(`closed ${err.code} ${err.reason}`.trim(), 'closed');
    else if (err.status === 401) setStatus('error: not logged in (HTTP 401)', 'error');
    else setStatus(`error: ${err.message}`, 'error');
    return;
  }
  if (mine !== attempt) {
    s.close(1000, 'replaced');
    return;
  }
  sock = s;
  const who = s.authOK?.subject ?? access?.user;
  const connected = `connected as ${who} to ${room} via ${strategy}`;
  setStatus(connected, 'connected');
  let refreshed = 0;
  s.onrefresh = () => {
    refreshed++;
    if (sock === s) setStatus(`${connected} · token refreshed ${refreshed}×`, 'connected');
  };
  s.onrefresherror = (err) => {
    if (sock === s) setStatus(`${connected} · refresh failed: ${err.message}`, 'connected');
  };
  s.onmessage = (data) => {
    try {
      addMessage(JSON.parse(data));
    } catch {
      // not a chat frame: ignore
    }
  };
  s.closed.then(({ code, reason }) => {
    if (sock === s) sock = null;
    if (mine !== attempt) return;
    // A refusal of query or subprotocol arrives here, right after "open".
    setStatus(`closed ${code} ${reason}`.trim(), 'closed');
    // 4401 on an open connection: expired, or revoked by a logout (maybe
    // on another page). Is the session still there?
    if (code === CLOSE.UNAUTHENTICATED && access) refreshAccess().catch(() => {});
  });
}

// The credential choice applies to subprotocol and first-message only.
function syncCredential() {
  const strategy = $('strategy').value;
  $('credential').disabled = strategy === 'query' || strategy === 'jwt';
}

async function send(ev) {
  ev.preventDefault();
  const input = $('message-input');
  const text = input.value;
  if (!sock || text.trim() === '') return;
  const msg = { text };
  if (sock.setToken) sock.send(msg); // per-message: the envelope is added
  else sock.send(JSON.stringify(msg));
  input.value = '';
}

$('login-form').addEventListener('submit', login);
$('logout-button').addEventListener('click', logout);
$('strategy').addEventListener('change', syncCredential);
syncCredential();
$('connect-button').addEventListener('click', connect);
$('disconnect-button').addEventListener('click', () => {
  disconnect();
});
$('compose').addEventListener('submit', send);

// A session cookie from an earlier visit logs the page in.
loggingIn = refreshAccess().catch(() => {});
