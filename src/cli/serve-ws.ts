/**
 * `packeteye serve`'s WebSocket (`GET /api/ws`, RFC 6455): the page's
 * questions travel over one kept connection instead of one `fetch` each. A
 * browser's `fetch` sets up a request between its processes every time (a
 * loader, header checks, a response body pipe): about 3 ms on a loaded
 * 2-core machine, more than the question costs the server. A message on an
 * open WebSocket costs under 1 ms.
 *
 * What travels is what `GET` would ask and answer, nothing else:
 *
 *   page → server   `ID PATH?QUERY`              e.g. `7 /api/trace?from=a/b&to=svc/c/d:80`
 *   server → page   `ID STATUS\n` + the body     the same bytes `GET PATH?QUERY` answers
 *
 * Answers go out in the order asked. Only questions (`GET` under `/api/`)
 * are asked this way; `POST /api/check` and `/api/reload` are refused as a
 * `GET` to them is (405). The upgrade itself is checked as any request
 * (loopback Host, no other Origin: cli/serve-http.ts), so a page elsewhere
 * cannot open one.
 *
 * Only what a browser sends is read: masked frames, text and binary
 * messages (fragmented or not), ping, pong, close; no extension is
 * negotiated. Anything else closes the connection with the status RFC 6455
 * names (1002 protocol error, 1007 not UTF-8, 1009 too large).
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** RFC 6455 §1.3: the GUID a handshake's key is hashed with. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a request's `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** A handshake key is 16 bytes, base64 (RFC 6455 §4.1): 24 characters ending `==`. */
export function isHandshakeKey(key: string | undefined): key is string {
  return key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Close statuses (RFC 6455 §7.4.1). */
export const CLOSE = {
  normal: 1000,
  protocol: 1002,
  notUtf8: 1007,
  tooLarge: 1009,
  internal: 1011,
} as const;

/** A server frame: FIN, unmasked (a server never masks). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHead(opcode, payload.length), payload]);
}

/** The head of a server frame of `n` payload bytes. */
function frameHead(opcode: number, n: number): Buffer {
  const head = Buffer.alloc(n < 126 ? 2 : n < 65_536 ? 4 : 10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return head;
}

/** What a client's bytes amount to: whole messages, control frames, or why the connection ends. */
export type WsEvent =
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'ping'; readonly payload: Buffer }
  | { readonly kind: 'pong' }
  | { readonly kind: 'close'; readonly code: number };

/**
 * Reads a client's frames as they arrive (in any split): unmasks them, joins
 * a fragmented message, and says when to close. `limit` bounds a message.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partsLength = 0;
  private fragmented = false;
  /** A close was read (or a frame refused): nothing after it is read. */
  private closed = false;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly limit: number) {}

  /** The events the bytes complete; a `close` event is the last (the reader reads no more). */
  push(chunk: Buffer): WsEvent[] {
    if (this.closed) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: WsEvent[] = [];
    for (;;) {
      const e = this.next();
      if (e === undefined) return out;
      if (e === null) continue;
      out.push(e);
      if (e.kind === 'close') {
        this.buf = Buffer.alloc(0);
        this.closed = true;
        return out;
      }
    }
  }

  /** The next frame's event: undefined when its bytes are not all here, null when it completes none. */
  private next(): WsEvent | null | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let at = 2;
    // No extension was agreed: the RSV bits must be clear; a client must mask.
    if ((b[0]! & 0x70) !== 0 || !masked) return closing(CLOSE.protocol);
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.limit)) return closing(CLOSE.tooLarge);
      len = Number(big);
      at = 10;
    }
    const control = opcode >= 8;
    if (control && (!fin || len > 125)) return closing(CLOSE.protocol);
    if (!control && this.partsLength + len > this.limit) return closing(CLOSE.tooLarge);
    if (b.length < at + 4 + len) return undefined;
    const mask = b.subarray(at, at + 4);
    const payload = Buffer.from(b.subarray(at + 4, at + 4 + len));
    for (let i = 0; i < len; i++) payload[i]! ^= mask[i & 3]!;
    this.buf = b.subarray(at + 4 + len);
    switch (opcode) {
      case OP.close:
        return { kind: 'close', code: closeCode(payload) };
      case OP.ping:
        return { kind: 'ping', payload };
      case OP.pong:
        return { kind: 'pong' };
      case OP.text:
      case OP.binary:
      case OP.continuation:
        return this.data(opcode, fin, payload);
      default:
        return closing(CLOSE.protocol);
    }
  }

  /** A data frame: a whole message, or a part of one. */
  private data(opcode: number, fin: boolean, payload: Buffer): WsEvent | null {
    // A continuation continues a message; a new message may not start inside one.
    if ((opcode === OP.continuation) !== this.fragmented) return closing(CLOSE.protocol);
    this.parts.push(payload);
    this.partsLength += payload.length;
    this.fragmented = !fin;
    if (!fin) return null;
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.partsLength = 0;
    try {
      return { kind: 'message', text: this.utf8.decode(whole) };
    } catch {
      return closing(CLOSE.notUtf8);
    }
  }
}

function closing(code: number): WsEvent {
  return { kind: 'close', code: -code };
}

/** A close frame's status (1005, none given, when it has no body). */
function closeCode(payload: Buffer): number {
  return payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
}

/**
 * Serves one upgraded connection: each message is a question (`ID PATH?QUERY`),
 * answered by `answer` in the order asked, as `ID STATUS\n` and the body.
 * A close from the client is answered with its status; a frame the reader
 * refuses closes with the reader's (a negative code in its event).
 */
export function serveSocket(
  socket: Duplex,
  limit: number,
  answer: (target: string) => Promise<{ status: number; body: string | Buffer }>,
): void {
  const reader = new FrameReader(limit);
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const send = (opcode: number, ...parts: Buffer[]): void => {
    if (closed || !socket.writable) return;
    socket.cork();
    socket.write(
      frameHead(
        opcode,
        parts.reduce((n, p) => n + p.length, 0),
      ),
    );
    for (const p of parts) socket.write(p);
    socket.uncork();
  };
  const close = (code: number): void => {
    if (closed) return;
    const status = Buffer.alloc(2);
    // 1005 and 1006 are never sent (§7.4.1): the close is answered without a status.
    status.writeUInt16BE(code === 1005 || code === 1006 ? CLOSE.normal : code);
    send(OP.close, status);
    closed = true;
    socket.end();
  };
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    for (const e of reader.push(chunk)) {
      if (e.kind === 'close') return close(Math.abs(e.code));
      if (e.kind === 'ping') send(OP.pong, e.payload);
      else if (e.kind === 'message') {
        const text = e.text;
        queue = queue
          .then(async () => {
            const space = text.indexOf(' ');
            const id = space < 0 ? '' : text.slice(0, space);
            const { status, body } = await answer(space < 0 ? text : text.slice(space + 1));
            send(
              OP.text,
              Buffer.from(`${id} ${status}\n`),
              typeof body === 'string' ? Buffer.from(body) : body,
            );
          })
          // answer refuses by answering; a throw is a bug: the connection ends (1011).
          .catch(() => close(CLOSE.internal));
      }
    }
  });
}
