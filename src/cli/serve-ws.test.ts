/**
 * The page's WebSocket (cli/serve-ws.ts) through `ws`'s client: the server
 * answers each question as the same GET does, byte for byte and in the order
 * asked, refuses upgrades serve's own checks refuse (with their status and
 * code), keeps to its message limit, agrees no extension, and closes its
 * sockets when it closes.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { memoryIo } from './io.js';
import { diskIo } from './testing/disk-io.js';
import { buildProgram } from './main.js';
import { loadCommands } from './commands.js';
import { startServe, type ServeHandle } from './serve.js';
import { isHandshakeKey } from './serve-ws.js';

await loadCommands();

/** A `ws` client on the server's socket, open. */
async function open(url: string, origin?: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}api/ws`, origin ? { origin } : {});
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  return ws;
}

/** Messages as they arrive, read one at a time. */
function inbox(ws: WebSocket): () => Promise<{ text: string; binary: boolean }> {
  const got: { text: string; binary: boolean }[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data: Buffer, binary: boolean) => {
    got.push({ text: data.toString(), binary });
    wake?.();
  });
  return async () => {
    while (got.length === 0) await new Promise<void>((ok) => (wake = ok));
    return got.shift()!;
  };
}

/** An upgrade asked by hand (headers `ws`'s client would not send): the server's whole answer. */
async function handshake(url: string, headers: Record<string, string>): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const all: Record<string, string> = {
    Host: `${hostname}:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const path = all[':path'] ?? '/api/ws';
  const method = all[':method'] ?? 'GET';
  delete all[':path'];
  delete all[':method'];
  socket.write(
    `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`,
  );
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((ok) => socket.once('close', ok));
  return Buffer.concat(chunks).toString();
}

describe('serve-ws: ws without its native addons', () => {
  it('is told not to load bufferutil or utf-8-validate', () => {
    // Importing serve-ws.ts sets them, ahead of its own import of ws (which this file loaded first).
    expect([process.env.WS_NO_BUFFER_UTIL, process.env.WS_NO_UTF_8_VALIDATE]).toEqual(['1', '1']);
  });
});

describe('serve-ws: the handshake key', () => {
  it.each([
    ['dGhlIHNhbXBsZSBub25jZQ==', true],
    ['short==', false],
    ['dGhlIHNhbXBsZSBub25jZQ=', false],
    [undefined, false],
  ])('%s is a key: %s', (key, is) => {
    expect(isHandshakeKey(key)).toBe(is);
  });
});

describe('serve-ws: the server answers over the page’s WebSocket as over GET', () => {
  let h: ServeHandle;
  beforeAll(async () => {
    h = await startServe(diskIo(), {
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
    const ws = await open(h.url, h.url.slice(0, -1));
    // No extension is agreed, though the client offers permessage-deflate.
    expect(ws.extensions).toBe('');
    const next = inbox(ws);
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
    // Asked together, before any answer (one as a binary message): they are answered in order.
    asked.forEach((q, i) =>
      ws.send(i === 4 ? Buffer.from(`${i + 1} ${q}`) : `${i + 1} ${q}`, { binary: i === 4 }),
    );
    for (const [i, q] of asked.entries()) {
      const { text: t, binary } = await next();
      expect(binary).toBe(false);
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
    const pong = new Promise<Buffer>((ok) => ws.once('pong', ok));
    ws.ping('are you there');
    expect((await pong).toString()).toBe('are you there');
    const closed = new Promise<number>((ok) => ws.once('close', ok));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  it.each([
    ['a message over the limit (1 MiB)', Buffer.alloc(1024 * 1024 + 1, 97), false, 1009],
    ['a binary message that is not UTF-8', Buffer.from([0xc3, 0x28]), true, 1007],
  ])('closes on %s, with its status', async (_, data, binary, code) => {
    const ws = await open(h.url);
    ws.on('error', () => undefined);
    const closed = new Promise<number>((ok) => ws.once('close', ok));
    ws.send(data, { binary });
    expect(await closed).toBe(code);
  });

  it.each([
    ['another origin', { Origin: 'http://evil.example' }, 403, 'cross-origin'],
    ['an opaque origin', { Origin: 'null' }, 403, 'cross-origin'],
    ['another method', { ':method': 'POST' }, 405, 'method-not-allowed'],
    ['a host that is not loopback', { Host: 'evil.example' }, 403, 'bad-host'],
    ['another path', { ':path': '/api/trace' }, 404, 'not-found'],
    ['another version', { 'Sec-WebSocket-Version': '8' }, 426, 'bad-upgrade'],
    ['a key that is not one', { 'Sec-WebSocket-Key': 'abc' }, 400, 'bad-upgrade'],
  ])('refuses an upgrade from %s', async (_, headers, status, code) => {
    const response = await handshake(h.url, headers);
    expect(response).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string };
    };
    expect(body.error.code).toBe(code);
    if (status === 426) expect(response).toContain('Sec-WebSocket-Version: 13');
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
    const ws = await open(h.url);
    const closed = new Promise<number>((ok) => ws.once('close', ok));
    await h.close();
    // Ended at once, with no close frame: 1006 (abnormal closure) on the client's side.
    expect(await closed).toBe(1006);
  });
});
