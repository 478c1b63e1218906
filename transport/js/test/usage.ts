// A type test, checked by tsc and never run: the public API as a
// TypeScript application uses it.
import { CloseError, WsauthClient, type AuthOK, type State } from '../wsauth.js';

declare const WS: new (url: string, protocols?: string | string[]) => WebSocket;

const client = new WsauthClient({
  url: 'wss://example.com/ws',
  carrier: 'first-message',
  credential: async ({ reason, signal }) => {
    const res = await fetch(`/token?for=${reason}`, { method: 'POST', signal });
    return (await res.json()).token as string;
  },
  queue: 10,
  backoff: { initial: 250, jitter: 0.3 },
  closeActions: { 1000: 'retry' },
  WebSocket: WS,
});
client.addEventListener('open', (e) => {
  const who: string | undefined = e.authOK?.subject;
  const again: boolean = e.reconnected;
  void who, again;
});
client.addEventListener('message', (e) => {
  const d: string | ArrayBuffer = e.data;
  void d;
});
client.addEventListener('statechange', (e) => {
  const s: State = e.state;
  void s;
});
client.addEventListener('close', (e) => {
  const n: number = e.code + e.delay;
  const stopped: CloseError | null = e.error;
  void n, stopped;
});
client.addEventListener('expiring', (e) => void e.seconds);
client.addEventListener('refresh', (e) => void e.authOK.expiresAt?.getTime());
client.addEventListener('error', (e) => void e.phase);
client.addEventListener('custom', (e: Event) => void e.type);

async function main(): Promise<void> {
  try {
    const c: WsauthClient = await client.connect();
    c.send('{"text":"hi"}');
    c.send(new Uint8Array([1, 2, 3]));
    c.sendJSON({ text: 'hi' });
    const ok: AuthOK = await c.refresh();
    void ok;
    c.close(1000, 'bye');
  } catch (err) {
    if (err instanceof CloseError) console.log(err.code, err.reason, err.wasClean);
  }
}
void main;
