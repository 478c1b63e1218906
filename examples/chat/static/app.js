// The chat page: log in, connect with one of the four strategies, chat.
// The wire formats are wsauth.js's; this file is the app around them.

import {
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
let refreshTimer = null;
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
async function refreshAccess() {
  const res = await postJSON('/api/token');
  if (!res.ok) return false;
  setAccess(await res.json());
  return true;
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
  clearTimeout(refreshTimer);
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
  const url = wsURL(`/ws/${strategy}/${encodeURIComponent(room)}`);
  setStatus('connecting…');
  let s;
  try {
    switch (strategy) {
      case 'query':
        s = await connectQuery(url, (await fetchTicket('/api/tickets', { room })).ticket);
        break;
      case 'subprotocol':
        s = await connectSubprotocol(url, (await fetchTicket('/api/tickets', { room })).ticket, 'chat.v1');
        break;
      case 'first-message':
        s = await connectFirstMessage(url, (await fetchTicket('/api/tickets', { room })).ticket);
        break;
      case 'jwt':
        if (access.expiresAt - Date.now() < 30_000) await refreshAccess();
        // The first envelope authenticates and joins; {} posts nothing.
        s = await connectPerMessage(url, access.token, { first: {} });
        break;
    }
  } catch (err) {
    if (mine !== attempt) return;
    if (err instanceof CloseError) setStatus(`closed ${err.code} ${err.reason}`.trim(), 'closed');
    else if (err.status === 401) setStatus('error: not logged in (ticket refused: HTTP 401)', 'error');
    else setStatus(`error: ${err.message}`, 'error');
    return;
  }
  if (mine !== attempt) {
    s.close(1000, 'replaced');
    return;
  }
  sock = s;
  const who = s.authOK?.subject ?? access.user;
  setStatus(`connected as ${who} to ${room} via ${strategy}`, 'connected');
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
    clearTimeout(refreshTimer);
    // A refusal of query or subprotocol arrives here, right after "open".
    setStatus(`closed ${code} ${reason}`.trim(), 'closed');
  });
  if (strategy === 'jwt') scheduleRefresh(s);
}

// scheduleRefresh keeps a /ws/jwt connection alive: the server closes it
// with 4401 when the newest token it has seen expires, so shortly before
// that, get a new token and send it in an empty envelope.
function scheduleRefresh(s) {
  clearTimeout(refreshTimer);
  const wait = Math.max(access.expiresAt - Date.now() - 20_000, 1_000);
  refreshTimer = setTimeout(async () => {
    if (sock !== s) return;
    if (await refreshAccess()) {
      s.setToken(access.token);
      s.send({});
      scheduleRefresh(s);
    }
  }, wait);
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
$('connect-button').addEventListener('click', connect);
$('disconnect-button').addEventListener('click', () => {
  disconnect();
});
$('compose').addEventListener('submit', send);

// A session cookie from an earlier visit logs the page in.
loggingIn = refreshAccess().catch(() => {});
