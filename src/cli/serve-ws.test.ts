/**
 * The page's WebSocket (cli/serve-ws.ts): frames read as RFC 6455 writes
 * them (the handshake's example key, masking, lengths of 7, 16 and 64 bits,
 * fragments, control frames, refusals), and the server answering each
 * question as the same GET does, byte for byte, over a real connection.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { buildProgram } from './main.js';
import { loadCommands } from './commands.js';
import { startServe, type ServeHandle } from './serve.js';
import { acceptKey, CLOSE, encodeFrame, FrameReader, isHandshakeKey, OP } from './serve-ws.js';

await loadCommands();

/** A client frame: masked, as a browser sends it. */
function clientFrame(opcode: number, payload: Buffer, fin = true, rsv = 0): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | rsv | opcode;
  if (n < 126) head[1] = 0x80 | n;
  else if (n < 65_536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

const text = (s: string, fin = true): Buffer => clientFrame(OP.text, Buffer.from(s), fin);

describe('serve-ws: frames', () => {
  it('accepts the handshake key as RFC 6455 §1.3 computes it', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(isHandshakeKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe(true);
    expect(isHandshakeKey('short==')).toBe(false);
    expect(isHandshakeKey(undefined)).toBe(false);
  });

  it.each([
    ['7-bit length', 5, [0x81, 5]],
    ['16-bit length', 300, [0x81, 126, 1, 44]],
    ['64-bit length', 70_000, [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]],
  ])('writes a %s frame unmasked', (_, n, head) => {
    const f = encodeFrame(OP.text, Buffer.alloc(n, 97));
    expect([...f.subarray(0, head.length)]).toEqual(head);
    expect(f.length).toBe(head.length + n);
  });

  it.each([
    ['a whole message', [text('1 /api/status')], [{ kind: 'message', text: '1 /api/status' }]],
    [
      'a message in three fragments, a ping between',
      [
        text('1 /api', false),
        clientFrame(OP.ping, Buffer.from('hi')),
        clientFrame(OP.continuation, Buffer.from('/sta'), false),
        clientFrame(OP.continuation, Buffer.from('tus')),
      ],
      [
        { kind: 'ping', payload: Buffer.from('hi') },
        { kind: 'message', text: '1 /api/status' },
      ],
    ],
    [
      'a 16-bit and a 64-bit length',
      [text('x'.repeat(300)), text('y'.repeat(70_000))],
      [
        { kind: 'message', text: 'x'.repeat(300) },
        { kind: 'message', text: 'y'.repeat(70_000) },
      ],
    ],
    ['a pong', [clientFrame(OP.pong, Buffer.alloc(0))], [{ kind: 'pong' }]],
    [
      'a close with its status',
      [clientFrame(OP.close, Buffer.from([0x03, 0xe8])), text('after')],
      [{ kind: 'close', code: 1000 }],
    ],
    [
      'a close without one',
      [clientFrame(OP.close, Buffer.alloc(0))],
      [{ kind: 'close', code: 1005 }],
    ],
    [
      'an unmasked frame',
      [Buffer.from([0x81, 1, 0x41])],
      [{ kind: 'close', code: -CLOSE.protocol }],
    ],
    [
      'a reserved bit (no extension agreed)',
      [clientFrame(OP.text, Buffer.from('a'), true, 0x40)],
      [{ kind: 'close', code: -CLOSE.protocol }],
    ],
    [
      'a fragmented ping',
      [clientFrame(OP.ping, Buffer.from('a'), false)],
      [{ kind: 'close', code: -CLOSE.protocol }],
    ],
    [
      'a continuation with no message begun',
      [clientFrame(OP.continuation, Buffer.from('a'))],
      [{ kind: 'close', code: -CLOSE.protocol }],
    ],
    [
      'a new message inside a fragmented one',
      [text('a', false), text('b')],
      [{ kind: 'close', code: -CLOSE.protocol }],
    ],
    [
      'an unknown opcode',
      [clientFrame(3, Buffer.from('a'))],
      [{ kind: 'close', code: -CLOSE.protocol }],
    ],
    [
      'text that is not UTF-8',
      [clientFrame(OP.text, Buffer.from([0xc3, 0x28]))],
      [{ kind: 'close', code: -CLOSE.notUtf8 }],
    ],
    [
      'a message over the limit, in fragments',
      [text('x'.repeat(60_000), false), clientFrame(OP.continuation, Buffer.alloc(60_000, 120))],
      [{ kind: 'close', code: -CLOSE.tooLarge }],
    ],
    [
      'a 64-bit length over the limit, before its bytes',
      [Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0])],
      [{ kind: 'close', code: -CLOSE.tooLarge }],
    ],
  ])('reads %s, in any split', (_, frames, events) => {
    const bytes = Buffer.concat(frames);
    // Whole, then one byte at a time: the events are the same.
    for (const step of [bytes.length, bytes.length < 10_000 ? 1 : 997, 4093]) {
      const r = new FrameReader(100_000);
      const got = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...r.push(bytes.subarray(i, i + step)));
      expect(got).toEqual(events);
    }
  });
});

/** A WebSocket client over a socket: the handshake, then messages asked and answered. */
async function open(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ socket: Socket; response: string; reader: FrameReaderClient }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise((ok) => socket.once('connect', ok));
  const all = {
    Host: `${hostname}:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const path = headers[':path'] ?? '/api/ws';
  delete (all as Record<string, string>)[':path'];
  socket.write(
    `GET ${path} HTTP/1.1\r\n${Object.entries(all)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`,
  );
  const reader = new FrameReaderClient(socket);
  const response = await reader.head();
  return { socket, response, reader };
}

/** Reads a server's handshake answer, then its (unmasked) frames. */
class FrameReaderClient {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  ended = false;
  constructor(socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }
  private async more(): Promise<void> {
    if (this.ended) throw new Error('closed');
    await new Promise<void>((ok) => (this.wake = ok));
  }
  async head(): Promise<string> {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.buf.subarray(0, end + 4).toString();
        const length = /content-length: (\d+)/i.exec(head);
        const total = end + 4 + (length ? Number(length[1]) : 0);
        if (this.buf.length >= total) {
          const all = this.buf.subarray(0, total).toString();
          this.buf = this.buf.subarray(total);
          return all;
        }
      }
      await this.more();
    }
  }
  async frame(): Promise<{ opcode: number; payload: Buffer }> {
    for (;;) {
      const b = this.buf;
      if (b.length >= 2) {
        let len = b[1]! & 0x7f;
        let at = 2;
        if (len === 126 && b.length >= 4) [len, at] = [b.readUInt16BE(2), 4];
        else if (len === 127 && b.length >= 10) [len, at] = [Number(b.readBigUInt64BE(2)), 10];
        if ((b[1]! & 0x7f) < 126 || at > 2) {
          if (b.length >= at + len) {
            this.buf = b.subarray(at + len);
            return { opcode: b[0]! & 0x0f, payload: b.subarray(at, at + len) };
          }
        }
      }
      await this.more();
    }
  }
}

describe('serve-ws: the server answers over the page’s WebSocket as over GET', () => {
  let h: ServeHandle;
  beforeAll(async () => {
    const io = Object.assign(memoryIo(), {
      readFile: (p: string) => readFileSync(p, 'utf8'),
      listDir: () => undefined,
    });
    h = await startServe(io, {
      files: ['examples/two-nodes.yaml'],
      port: 0,
      program: (qio) => buildProgram(qio),
      buildAhead: false,
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('answers each question with the bytes GET answers, in the order asked', async () => {
    const { socket, response, reader } = await open(h.url, { Origin: h.url.slice(0, -1) });
    expect(response).toMatch(/^HTTP\/1\.1 101 /);
    expect(response).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const asked = [
      '/api/trace?from=default/frontend&to=svc/default/store-be:80&html=brief&answer=0&defaults=touched',
      '/api/trace?from=default/frontend&to=svc/default/store-be:80',
      '/api/trace?from=default/nobody&to=svc/default/store-be:80',
      '/api/rules?host=node-1&table=nat&chain=KUBE-SERVICES',
      '/api/endpoints?q=store',
      '/api/check',
      '/api/reload',
      '/api/ws',
      '/',
    ];
    // Asked together, before any answer: they are answered in order.
    asked.forEach((q, i) => socket.write(text(`${i + 1} ${q}`)));
    for (const [i, q] of asked.entries()) {
      const f = await reader.frame();
      expect(f.opcode).toBe(OP.text);
      const t = f.payload.toString();
      const nl = t.indexOf('\n');
      const [id, status] = t.slice(0, nl).split(' ');
      expect(id).toBe(String(i + 1));
      if (q === '/api/check' || q === '/api/reload') {
        expect(status).toBe('405');
        continue;
      }
      if (q === '/' || q === '/api/ws') {
        expect(status).toBe('404');
        continue;
      }
      const r = await fetch(new URL(q.slice(1), h.url));
      expect([q, Number(status)]).toEqual([q, r.status]);
      expect(t.slice(nl + 1)).toBe(await r.text());
    }
    // A ping is answered with its payload; a close with the same status.
    socket.write(clientFrame(OP.ping, Buffer.from('are you there')));
    expect(await reader.frame()).toEqual({
      opcode: OP.pong,
      payload: Buffer.from('are you there'),
    });
    socket.write(clientFrame(OP.close, Buffer.from([0x03, 0xe8])));
    expect(await reader.frame()).toEqual({ opcode: OP.close, payload: Buffer.from([0x03, 0xe8]) });
    await new Promise((ok) => socket.once('close', ok));
  });

  it('closes with 1002 on an unmasked frame', async () => {
    const { socket, reader } = await open(h.url);
    socket.write(Buffer.from([0x81, 1, 0x41]));
    const f = await reader.frame();
    expect([f.opcode, f.payload.readUInt16BE(0)]).toEqual([OP.close, CLOSE.protocol]);
    socket.destroy();
  });

  it.each([
    ['another origin', { Origin: 'http://evil.example' }, 403, 'cross-origin'],
    ['a host that is not loopback', { Host: 'evil.example' }, 403, 'bad-host'],
    ['another path', { ':path': '/api/trace' }, 404, 'not-found'],
    ['another version', { 'Sec-WebSocket-Version': '8' }, 426, 'bad-upgrade'],
    ['a key that is not one', { 'Sec-WebSocket-Key': 'abc' }, 400, 'bad-upgrade'],
  ])('refuses an upgrade from %s', async (_, headers, status, code) => {
    const { socket, response } = await open(h.url, headers);
    expect(response).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string };
    };
    expect(body.error.code).toBe(code);
    if (status === 426) expect(response).toContain('Sec-WebSocket-Version: 13');
    socket.destroy();
  });

  it('says a plain GET of the socket needs an upgrade', async () => {
    const r = await fetch(`${h.url}api/ws`);
    expect(r.status).toBe(426);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('upgrade-required');
  });
});

describe('serve-ws: closing the server', () => {
  it('ends its WebSocket connections too', async () => {
    const io = Object.assign(memoryIo(), {
      readFile: (p: string) => readFileSync(p, 'utf8'),
      listDir: () => undefined,
    });
    const h = await startServe(io, {
      files: ['examples/two-nodes.yaml'],
      port: 0,
      program: (qio) => buildProgram(qio),
      buildAhead: false,
    });
    const { socket, response } = await open(h.url);
    expect(response).toMatch(/^HTTP\/1\.1 101 /);
    const closed = new Promise((ok) => socket.once('close', ok));
    await h.close();
    await closed;
  });
});
