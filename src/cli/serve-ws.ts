/**
 * `packeteye serve`'s WebSocket (`GET /api/ws`): the page's questions travel
 * over one kept connection instead of one `fetch` each. A browser's `fetch`
 * sets up a request between its processes every time (a loader, header
 * checks, a response body pipe): about 3 ms on a loaded 2-core machine, more
 * than the question costs the server. A message on an open WebSocket costs
 * under 1 ms.
 *
 * What travels is what `GET` would ask and answer, nothing else:
 *
 *   page → server   `ID PATH?QUERY`              e.g. `7 /api/trace?from=a/b&to=svc/c/d:80`
 *   server → page   `ID STATUS\n` + the body     the same bytes `GET PATH?QUERY` answers
 *
 * Answers go out in the order asked. Only questions (`GET` under `/api/`)
 * are asked this way; `POST /api/check` and `/api/reload` are refused as a
 * `GET` to them is (405). The upgrade itself is checked as any request
 * (loopback Host, no other Origin: cli/serve-http.ts) before it is handed
 * on, so a page elsewhere cannot open one.
 *
 * RFC 6455 itself (the handshake's answer, frames, masking, fragments,
 * ping/pong/close, the close statuses: 1002 protocol error, 1007 a text
 * message not UTF-8, 1009 too large) is the `ws` package's, without its
 * native addons (cli/serve-ws-env.ts); no extension is agreed
 * (`perMessageDeflate: false`). The message protocol above is ours, and so
 * are the closes it makes: 1007 for a binary message that is not UTF-8
 * (`ws` checks text messages only), 1011 for a bug.
 */
// First: what `ws` reads of the environment when it is loaded.
import './serve-ws-env.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/** Close statuses packeteye sends itself (RFC 6455 §7.4.1). */
const CLOSE = { notUtf8: 1007, internal: 1011 } as const;

/** A handshake key is 16 bytes, base64 (RFC 6455 §4.1): 24 characters ending `==`. */
export function isHandshakeKey(key: string | undefined): key is string {
  return key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/** What a question is answered with: the status and the bytes `GET` answers. */
export type Answer = (target: string) => Promise<{ status: number; body: string | Buffer }>;

/** The WebSockets of one server: upgrades handed on once checked, and closed with it. */
export interface AskSockets {
  /** Completes an upgrade serve has already checked, and serves the connection. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every open connection at once. */
  closeAll(): void;
}

/** Called when a question arrives; what it returns, once it has been answered (or dropped). */
export type OnAsk = () => () => void;

/**
 * `limit` bounds a message (a longer one closes the connection with 1009);
 * `onAsk` hears of each question from its arrival until it is answered.
 */
export function askSockets(limit: number, answer: Answer, onAsk?: OnAsk): AskSockets {
  const wss = new WebSocketServer({ noServer: true, maxPayload: limit, perMessageDeflate: false });
  return {
    upgrade: (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, answer, onAsk)),
    closeAll: () => {
      for (const ws of wss.clients) ws.terminate();
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Serves one connection: each message is a question (`ID PATH?QUERY`),
 * answered by `answer` in the order asked, as `ID STATUS\n` and the body in
 * one text message.
 */
function serveSocket(ws: WebSocket, answer: Answer, onAsk: OnAsk | undefined): void {
  let queue: Promise<unknown> = Promise.resolve();
  // A frame `ws` refuses is reported here and the connection closed with its status.
  ws.on('error', () => undefined);
  ws.on('message', (raw: RawData, isBinary: boolean) => {
    // binaryType is `nodebuffer`: a message is one Buffer, its fragments joined.
    const data = raw as Buffer;
    let text: string;
    try {
      // A text message was checked as UTF-8 already; a binary one is read as text too.
      text = isBinary ? utf8.decode(data) : data.toString();
    } catch {
      return ws.close(CLOSE.notUtf8);
    }
    const answered = onAsk?.();
    queue = queue
      .then(async () => {
        const space = text.indexOf(' ');
        const id = space < 0 ? '' : text.slice(0, space);
        const { status, body } = await answer(space < 0 ? text : text.slice(space + 1));
        if (ws.readyState !== ws.OPEN) return;
        const head = `${id} ${status}\n`;
        ws.send(typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head), body]), {
          binary: false,
        });
      })
      // answer refuses by answering; a throw is a bug: the connection ends (1011).
      .catch(() => ws.close(CLOSE.internal))
      .finally(answered);
  });
}
