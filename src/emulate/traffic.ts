/**
 * Real traffic inside namespaces: small Node scripts run with
 * `ip netns exec NS node -e …`, because they can print precisely what each
 * side saw — the server the peer address and the local (post-DNAT) address
 * of every connection, the client the address that answered it (for UDP the
 * source address of the reply datagram, which is exactly what un-DNAT of
 * replies is about), or why nothing answered (refused, unreachable, timeout).
 *
 * Every process has a hard timeout (≤ {@link TRAFFIC_TIMEOUT_MS}) and a
 * bounded number of connections; raw TCP segments are sent one at a time.
 */
import { ipToInt } from '../wire/addr.js';
import { TRAFFIC_TIMEOUT_MS, run, spawnIn, type Lab, type Netns, type Spawned } from './netns.js';

export type Proto = 'tcp' | 'udp';

/** What the server saw of one connection / datagram. */
export interface ServerSaw {
  /** The packet's source as the server saw it: `IP:PORT`. */
  readonly peer: string;
  /** The address:port it arrived on (after any DNAT). */
  readonly local: string;
}

/** What the client saw for one attempt. */
export type ClientResult =
  /** TCP handshake completed; `remote` is the address the socket is connected to, `reply` what the server said it saw. */
  | {
      readonly kind: 'connected';
      readonly local: string;
      readonly remote: string;
      readonly reply: ServerSaw | null;
    }
  /** A UDP reply arrived; `from` is its source address:port as delivered to the client socket. */
  | {
      readonly kind: 'reply';
      readonly local: string;
      readonly from: string;
      readonly reply: ServerSaw | null;
    }
  /** ECONNREFUSED: a TCP RST, or an ICMP port-unreachable (TCP: any; UDP: connected sockets only). */
  | { readonly kind: 'refused'; readonly code: string }
  /** EHOSTUNREACH / ENETUNREACH / EACCES…: an ICMP error other than port-unreachable. */
  | { readonly kind: 'unreachable'; readonly code: string }
  /** The connection was reset after it was established. */
  | { readonly kind: 'reset'; readonly code: string }
  /** Nothing came back within the per-attempt timeout. */
  | { readonly kind: 'timeout' };

const SERVER_JS = String.raw`
const o = JSON.parse(process.argv[1]);
let ready = 0;
const out = (x) => process.stdout.write(JSON.stringify(x) + '\n');
const onReady = () => { if (++ready === o.listen.length) process.stdout.write('READY\n'); };
for (const l of o.listen) {
  if (o.proto === 'tcp') {
    const srv = require('net').createServer((s) => {
      const seen = { peer: s.remoteAddress + ':' + s.remotePort, local: s.localAddress + ':' + s.localPort };
      out(seen);
      s.on('error', () => {});
      // holdMs keeps the connection open (ESTABLISHED) for a while before answering.
      setTimeout(() => s.end(JSON.stringify(seen) + '\n'), o.holdMs || 0);
    });
    srv.listen({ host: l.host, port: l.port }, onReady);
  } else {
    const sock = require('dgram').createSocket('udp4');
    sock.on('message', (m, r) => {
      const seen = { peer: r.address + ':' + r.port, local: l.host + ':' + l.port };
      out(seen);
      sock.send(JSON.stringify(seen), r.port, r.address);
    });
    sock.bind(l.port, l.host, onReady);
  }
}
`;

const CLIENT_JS = String.raw`
const o = JSON.parse(process.argv[1]);
const kindOf = (code) => code === 'ECONNREFUSED' ? 'refused'
  : code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'unreachable';
function tcp() {
  return new Promise((res) => {
    const opts = { host: o.dst, port: o.port };
    // Node binds the local port only together with an address; 0.0.0.0 leaves the source to routing.
    if (o.bind || o.sport) opts.localAddress = o.bind || '0.0.0.0';
    if (o.sport) opts.localPort = o.sport;
    const s = require('net').connect(opts);
    let buf = '', conn = null, done = false;
    const finish = (r) => { if (done) return; done = true; clearTimeout(t); s.destroy(); res(r); };
    const t = setTimeout(() => finish(conn ? { kind: 'connected', ...conn, reply: null } : { kind: 'timeout' }), o.timeoutMs);
    s.on('connect', () => { conn = { local: s.localAddress + ':' + s.localPort, remote: s.remoteAddress + ':' + s.remotePort }; });
    s.on('data', (d) => { buf += d; });
    s.on('end', () => { let reply = null; try { reply = JSON.parse(buf); } catch {} finish({ kind: 'connected', ...conn, reply }); });
    s.on('error', (e) => finish(conn ? { kind: 'reset', code: e.code } : { kind: kindOf(e.code), code: e.code }));
  });
}
function udp() {
  return new Promise((res) => {
    const s = require('dgram').createSocket('udp4');
    let done = false;
    const finish = (r) => { if (done) return; done = true; clearTimeout(t); s.close(); res(r); };
    const t = setTimeout(() => finish({ kind: 'timeout' }), o.timeoutMs);
    s.on('error', (e) => finish({ kind: kindOf(e.code), code: e.code }));
    s.on('message', (m, r) => {
      let reply = null; try { reply = JSON.parse(String(m)); } catch {}
      const a = s.address();
      finish({ kind: 'reply', local: a.address + ':' + a.port, from: r.address + ':' + r.port, reply });
    });
    s.bind({ address: o.bind || '0.0.0.0', port: o.sport || 0 }, () => {
      if (o.connect) s.connect(o.port, o.dst, () => s.send('ping'));
      else s.send('ping', o.port, o.dst);
    });
  });
}
(async () => {
  const results = [];
  for (let i = 0; i < o.count; i++) results.push(await (o.proto === 'tcp' ? tcp() : udp()));
  process.stdout.write(JSON.stringify(results) + '\n');
})();
`;

export interface ServerSpec {
  readonly proto: Proto;
  /** Addresses to listen on (host `0.0.0.0` for all). UDP servers should name the address, to report `local`. */
  readonly listen: readonly { readonly host: string; readonly port: number }[];
  /** TCP: keep each connection open this long before answering and closing (default 0). */
  readonly holdMs?: number;
  readonly timeoutMs?: number;
}

export interface Server {
  /** Stops the server (if still running) and returns what it saw, in order. */
  stop(): Promise<ServerSaw[]>;
}

/** Starts a server in `ns` and waits until every listener is bound. */
export async function startServer(lab: Lab, ns: Netns, spec: ServerSpec): Promise<Server> {
  const timeoutMs = Math.min(spec.timeoutMs ?? TRAFFIC_TIMEOUT_MS, TRAFFIC_TIMEOUT_MS);
  const arg = JSON.stringify({ proto: spec.proto, listen: spec.listen, holdMs: spec.holdMs ?? 0 });
  const p: Spawned = spawnIn(lab, ns, [process.execPath, '-e', SERVER_JS, arg], {
    timeoutMs,
    readyWhen: /^READY$/,
  });
  // Rejects with the command line and stderr (e.g. EADDRINUSE) if the server dies first.
  await p.ready;
  return {
    async stop() {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      const r = await p.done;
      return r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '' && l !== 'READY')
        .map((l) => JSON.parse(l) as ServerSaw);
    },
  };
}

export interface ClientSpec {
  readonly proto: Proto;
  readonly dst: string;
  readonly port: number;
  /** Sequential attempts, each a new socket (new source port unless `sport`). */
  readonly count?: number;
  readonly sport?: number;
  /** Source address to bind. */
  readonly bind?: string;
  /** UDP: connect() the socket, so ICMP errors surface as `refused`/`unreachable` (but replies from another source are not delivered). */
  readonly connect?: boolean;
  /** Per attempt (default 1 s); the whole client is killed after {@link TRAFFIC_TIMEOUT_MS}. */
  readonly attemptTimeoutMs?: number;
}

/** Runs a client in `ns` and returns one result per attempt. */
export async function runClient(lab: Lab, ns: Netns, spec: ClientSpec): Promise<ClientResult[]> {
  const count = spec.count ?? 1;
  const attempt = spec.attemptTimeoutMs ?? 1_000;
  const arg = JSON.stringify({ ...spec, count, timeoutMs: attempt });
  const p = spawnIn(lab, ns, [process.execPath, '-e', CLIENT_JS, arg]);
  const r = await p.done;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('[')) {
    throw new Error(
      `client in ${ns} failed (status ${r.status}, signal ${r.signal}): ${JSON.stringify(spec)}\n  stderr: ${r.stderr.trim()}`,
    );
  }
  return JSON.parse(last) as ClientResult[];
}

/** TCP flag bits (RFC 9293 §3.1). */
export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
} as const;

export interface RawTcp {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  /** OR of {@link TCP_FLAG} bits. */
  readonly flags: number;
  readonly window?: number;
}

/**
 * A 20-byte TCP header with its checksum over the IPv4 pseudo-header
 * (RFC 9293 §3.1). Built here, independently of `wire/`, so the oracle does
 * not share code with what it checks.
 */
export function tcpHeader(t: RawTcp): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(t.sport, 0);
  b.writeUInt16BE(t.dport, 2);
  b.writeUInt32BE(t.seq >>> 0, 4);
  b.writeUInt32BE(t.ack >>> 0, 8);
  b.writeUInt8(5 << 4, 12);
  b.writeUInt8(t.flags, 13);
  b.writeUInt16BE(t.window ?? 64240, 14);
  const pseudo = Buffer.alloc(12);
  pseudo.writeUInt32BE(ipToInt(t.src) >>> 0, 0);
  pseudo.writeUInt32BE(ipToInt(t.dst) >>> 0, 4);
  pseudo.writeUInt8(6, 9);
  pseudo.writeUInt16BE(b.length, 10);
  b.writeUInt16BE(internetChecksum(Buffer.concat([pseudo, b])), 16);
  return b;
}

/** RFC 1071 one's-complement sum. */
export function internetChecksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
  if (data.length % 2 === 1) sum += (data[data.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Sends one hand-made TCP segment from `ns` through a raw IP socket
 * (`socat … IP4-SENDTO:DST:6,bind=SRC`): the kernel adds the IPv4 header,
 * nothing else touches the segment, and no socket of the sender owns it.
 */
export function sendRawTcp(ns: Netns, t: RawTcp): void {
  run(
    ['ip', 'netns', 'exec', ns.name, 'socat', '-u', 'STDIN', `IP4-SENDTO:${t.dst}:6,bind=${t.src}`],
    {
      input: tcpHeader(t),
      timeoutMs: TRAFFIC_TIMEOUT_MS,
    },
  );
}

/** One packet line of `tcpdump -n -S`, the fields the oracle needs. */
export interface CapturedTcp {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** tcpdump's flag letters: `S`, `S.`, `.`, `R`, `F.`… */
  readonly flags: string;
  readonly seq?: number;
  readonly ack?: number;
  readonly win?: number;
}

/** Parses `tcpdump -n -S` TCP lines (`IP A.p > B.q: Flags [S.], seq N, ack M, win W, …`). */
export function parseTcpdump(text: string): CapturedTcp[] {
  const out: CapturedTcp[] = [];
  const re =
    /IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): Flags \[([^\]]*)\](.*)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m === null) continue;
    const rest = m[6] as string;
    const num = (name: string): number | undefined => {
      const x = new RegExp(`\\b${name} (\\d+)`).exec(rest);
      return x === null ? undefined : Number(x[1]);
    };
    const seq = num('seq');
    const ack = num('ack');
    const win = num('win');
    out.push({
      src: m[1] as string,
      sport: Number(m[2]),
      dst: m[3] as string,
      dport: Number(m[4]),
      flags: m[5] as string,
      ...(seq !== undefined ? { seq } : {}),
      ...(ack !== undefined ? { ack } : {}),
      ...(win !== undefined ? { win } : {}),
    });
  }
  return out;
}

export interface Capture {
  /** Waits for tcpdump to exit (after `count` packets, or its timeout) and returns the packets. */
  packets(): Promise<CapturedTcp[]>;
}

/**
 * Captures up to `count` TCP packets on `dev` in `ns` with absolute sequence
 * numbers (`tcpdump -n -S -l -c COUNT -i DEV FILTER`), bounded by the traffic
 * timeout; resolves once tcpdump is listening.
 */
export async function captureTcp(
  lab: Lab,
  ns: Netns,
  dev: string,
  filter: string,
  count: number,
): Promise<Capture> {
  const p = spawnIn(
    lab,
    ns,
    ['tcpdump', '-n', '-S', '-l', '-c', String(count), '-i', dev, filter],
    {
      readyOn: 'stderr',
      readyWhen: /listening on/,
    },
  );
  await p.ready;
  return {
    async packets() {
      return parseTcpdump((await p.done).stdout);
    },
  };
}
