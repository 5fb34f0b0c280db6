/**
 * Real Linux network namespaces, driven through the kernel's own tools
 * (`ip`, `sysctl`, `iptables-restore`, `iptables-save -c`, `conntrack -L`,
 * `nstat`). Everything is created *inside* namespaces this process owns
 * (`pe-<pid>-<n>`): veth pairs are created with both ends placed directly in
 * their namespaces (`ip -n A link add … peer name … netns B`), so nothing ever
 * appears in the root namespace and deleting the namespaces deletes it all.
 *
 * Every command runs with a timeout; a failing command throws a
 * {@link CommandError} naming the exact command line and its stderr.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { parseConntrack, parseNstat, parseSave, type Counters, type CtEntry } from './oracle.js';

/** Namespaces this module creates: `pe-<pid>-<n>`. Nothing else is ever deleted. */
export const NETNS_PREFIX = 'pe-';
const OURS = /^pe-(\d+)-(\d+)$/;

/** Default limit for one administrative command (ip, sysctl, iptables-restore…). */
const COMMAND_TIMEOUT_MS = 5_000;
/** Upper bound for any traffic process (server or client) we start. */
export const TRAFFIC_TIMEOUT_MS = 3_000;

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly status: number | null,
    readonly signal: string | null,
    readonly stderr: string,
    readonly stdout: string,
    cause?: Error,
  ) {
    const why =
      cause !== undefined
        ? `failed to run (${cause.message})`
        : signal !== null
          ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout)' : ''}`
          : `exited ${status}`;
    super(
      `command ${why}: ${shellQuote(argv)}${stderr.trim() ? `\n  stderr: ${stderr.trim()}` : ''}`,
    );
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never throws (for probes whose failure is an answer). */
export function tryRun(
  argv: readonly string[],
  opts: RunOptions = {},
): RunResult & { error?: Error } {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('tryRun: empty argv');
  const r = spawnSync(file, args, {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? COMMAND_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}

/** Runs a command; throws {@link CommandError} (command line + stderr) unless it exits 0. */
export function run(argv: readonly string[], opts: RunOptions = {}): string {
  const r = tryRun(argv, opts);
  if (r.error !== undefined || r.status !== 0) {
    throw new CommandError(argv, r.status, r.signal, r.stderr, r.stdout, r.error);
  }
  return r.stdout;
}

export function shellQuote(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** Whether this process can build namespaces: root, and every named tool on PATH. */
export function canEmulate(
  tools: readonly string[] = ['ip', 'iptables-restore', 'iptables-save', 'conntrack'],
): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return tools.every((t) => {
    const r = tryRun(['sh', '-c', 'command -v "$1"', 'sh', t]);
    return r.status === 0;
  });
}

/** Names of all network namespaces (`ip netns list`). */
export function listNetns(): string[] {
  return run(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes namespaces earlier runs left behind: only names of our exact form
 * `pe-<pid>-<n>` whose creating process no longer exists. Namespaces of a
 * live process (a parallel test run) and any other `pe-…` name are left alone.
 * Returns the names deleted.
 */
export function sweepLeftovers(): string[] {
  const deleted: string[] = [];
  for (const name of listNetns()) {
    const m = OURS.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const r = tryRun(['ip', 'netns', 'del', name]);
    if (r.status === 0) deleted.push(name);
  }
  return deleted;
}

let counter = 0;
function nextName(): string {
  counter += 1;
  return `${NETNS_PREFIX}${process.pid}-${counter}`;
}

export interface RouteSpec {
  /** `default` or a CIDR. */
  readonly to: string;
  readonly via?: string;
  readonly dev?: string;
  readonly src?: string;
  /** e.g. `local`, `blackhole`, `unreachable`. */
  readonly type?: string;
  readonly table?: string;
}

/** One network namespace: the handle every command goes through. */
export class Netns {
  constructor(
    /** The kernel name, `pe-<pid>-<n>`. */
    readonly name: string,
    /** The test's name for it (`client`, `router`…), for messages. */
    readonly role: string,
  ) {}

  /** `ip -n NAME ARGS…` */
  ip(...args: string[]): string {
    return run(['ip', '-n', this.name, ...args]);
  }

  /** `ip netns exec NAME ARGV…` */
  exec(argv: readonly string[], opts: RunOptions = {}): string {
    return run(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  tryExec(argv: readonly string[], opts: RunOptions = {}): RunResult & { error?: Error } {
    return tryRun(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  up(dev: string): void {
    this.ip('link', 'set', dev, 'up');
  }

  addAddress(dev: string, cidr: string): void {
    this.ip('addr', 'add', cidr, 'dev', dev);
  }

  addRoute(r: RouteSpec): void {
    const args = ['route', 'add'];
    if (r.type !== undefined) args.push(r.type);
    args.push(r.to);
    if (r.via !== undefined) args.push('via', r.via);
    if (r.dev !== undefined) args.push('dev', r.dev);
    if (r.src !== undefined) args.push('src', r.src);
    if (r.table !== undefined) args.push('table', r.table);
    this.ip(...args);
  }

  addBridge(name: string): void {
    this.ip('link', 'add', name, 'type', 'bridge');
  }

  addDummy(name: string): void {
    this.ip('link', 'add', name, 'type', 'dummy');
  }

  setMaster(dev: string, bridge: string): void {
    this.ip('link', 'set', dev, 'master', bridge);
  }

  /** `sysctl -w KEY=VALUE` inside the namespace (net.* keys are per namespace). */
  setSysctl(key: string, value: string | number): void {
    this.exec(['sysctl', '-q', '-w', `${key}=${value}`]);
  }

  sysctl(key: string): string {
    return this.exec(['sysctl', '-n', key]).trim();
  }

  /** Loads a dump with `iptables-restore` (tables it names are replaced whole). */
  iptablesRestore(dump: string): void {
    this.exec(['iptables-restore'], { input: dump });
  }

  /** `iptables-save -c`: the rules with their packet/byte counters. */
  iptablesSave(): string {
    return this.exec(['iptables-save', '-c']);
  }

  /** `iptables-save -c`, parsed: per-rule and per-policy packet counters. */
  counters(): Counters {
    return parseSave(this.iptablesSave());
  }

  /** `conntrack -L`, parsed. */
  conntrack(): CtEntry[] {
    return parseConntrack(this.conntrackList());
  }

  /** `nstat -asz`, parsed: counter name → value. */
  snmp(): Map<string, number> {
    return parseNstat(this.nstat());
  }

  /** `conntrack -L` (IPv4) text. */
  conntrackList(): string {
    return this.exec(['conntrack', '-L', '-f', 'ipv4']);
  }

  /** Drops every conntrack entry of this namespace (`conntrack -F`). */
  conntrackFlush(): void {
    this.exec(['conntrack', '-F']);
  }

  /** `nstat -asz` text: this namespace's SNMP counters since it was created. */
  nstat(): string {
    return this.exec(['nstat', '-asz']);
  }

  /** IPv4 addresses in the kernel's order (`ip -j -4 addr show`), loopback excluded. */
  ipv4Addresses(): { dev: string; ip: string; prefix: number; secondary: boolean }[] {
    const j = JSON.parse(this.ip('-j', '-4', 'addr', 'show')) as Array<{
      ifname: string;
      addr_info?: Array<{ family: string; local: string; prefixlen: number; secondary?: boolean }>;
    }>;
    return j
      .filter((l) => l.ifname !== 'lo')
      .flatMap((l) =>
        (l.addr_info ?? [])
          .filter((a) => a.family === 'inet')
          .map((a) => ({
            dev: l.ifname,
            ip: a.local,
            prefix: a.prefixlen,
            secondary: a.secondary === true,
          })),
      );
  }

  /** `ip -s -j link show DEV`, parsed: rx/tx packet counts. */
  linkStats(dev: string): {
    rxPackets: number;
    txPackets: number;
    rxDropped: number;
    txDropped: number;
  } {
    const j = JSON.parse(this.ip('-s', '-j', 'link', 'show', 'dev', dev)) as Array<{
      stats64?: {
        rx: { packets: number; dropped: number };
        tx: { packets: number; dropped: number };
      };
    }>;
    const s = j[0]?.stats64;
    if (s === undefined) throw new Error(`no stats for ${dev} in ${this.name}`);
    return {
      rxPackets: s.rx.packets,
      txPackets: s.tx.packets,
      rxDropped: s.rx.dropped,
      txDropped: s.tx.dropped,
    };
  }

  toString(): string {
    return `${this.role}(${this.name})`;
  }
}

/** Description of a topology for {@link withTopology}. */
export interface TopologyDesc {
  /** Namespaces by role. */
  readonly netns: Readonly<Record<string, NetnsDesc>>;
  /** veth pairs between (or within) namespaces. */
  readonly veths?: readonly VethDesc[];
}

export interface NetnsDesc {
  /** Applied after links exist (so per-device keys work), before routes. */
  readonly sysctls?: Readonly<Record<string, string | number>>;
  readonly bridges?: readonly {
    readonly name: string;
    readonly ports: readonly string[];
    readonly addrs?: readonly string[];
  }[];
  readonly dummies?: readonly { readonly name: string; readonly addrs?: readonly string[] }[];
  readonly routes?: readonly RouteSpec[];
}

export interface VethEnd {
  /** Role of the namespace. */
  readonly ns: string;
  readonly dev: string;
  readonly addrs?: readonly string[];
}

export interface VethDesc {
  readonly a: VethEnd;
  readonly b: VethEnd;
}

/**
 * Namespaces and processes created for one test; {@link Lab.destroy} removes
 * them all. Use through {@link withTopology}, which guarantees the destroy.
 */
export class Lab {
  private readonly owned: Netns[] = [];
  private readonly byRole = new Map<string, Netns>();
  private readonly children = new Set<ChildProcess>();

  /** Creates a namespace with loopback up. */
  netns(role: string): Netns {
    if (this.byRole.has(role)) throw new Error(`namespace role ${role} already exists`);
    const ns = new Netns(nextName(), role);
    run(['ip', 'netns', 'add', ns.name]);
    this.owned.push(ns);
    this.byRole.set(role, ns);
    ns.up('lo');
    return ns;
  }

  ns(role: string): Netns {
    const ns = this.byRole.get(role);
    if (ns === undefined) throw new Error(`no namespace with role ${role}`);
    return ns;
  }

  /** A veth pair with each end created directly in its namespace, addressed and up. */
  veth(a: VethEnd, b: VethEnd): void {
    const na = this.ns(a.ns);
    const nb = this.ns(b.ns);
    na.ip('link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', nb.name);
    for (const [ns, end] of [
      [na, a],
      [nb, b],
    ] as const) {
      for (const cidr of end.addrs ?? []) ns.addAddress(end.dev, cidr);
      ns.up(end.dev);
    }
  }

  /** Tracks a child so destroy() kills it before the namespaces go. */
  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** Kills our children (by pid) and deletes every namespace we made; collects, then reports, errors. */
  destroy(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    this.children.clear();
    const errors: string[] = [];
    for (const ns of this.owned.splice(0).reverse()) {
      const r = tryRun(['ip', 'netns', 'del', ns.name]);
      if (r.status !== 0) errors.push(`ip netns del ${ns.name}: ${r.stderr.trim()}`);
    }
    this.byRole.clear();
    if (errors.length > 0) throw new Error(`cleanup failed:\n${errors.join('\n')}`);
  }

  /** Builds a described topology into this lab. */
  build(desc: TopologyDesc): void {
    for (const role of Object.keys(desc.netns)) this.netns(role);
    for (const v of desc.veths ?? []) this.veth(v.a, v.b);
    for (const [role, d] of Object.entries(desc.netns)) {
      const ns = this.ns(role);
      for (const dm of d.dummies ?? []) {
        ns.addDummy(dm.name);
        for (const cidr of dm.addrs ?? []) ns.addAddress(dm.name, cidr);
        ns.up(dm.name);
      }
      for (const br of d.bridges ?? []) {
        ns.addBridge(br.name);
        for (const p of br.ports) ns.setMaster(p, br.name);
        for (const cidr of br.addrs ?? []) ns.addAddress(br.name, cidr);
        ns.up(br.name);
      }
    }
    for (const [role, d] of Object.entries(desc.netns)) {
      const ns = this.ns(role);
      for (const [k, v] of Object.entries(d.sysctls ?? {})) ns.setSysctl(k, v);
    }
    for (const [role, d] of Object.entries(desc.netns)) {
      const ns = this.ns(role);
      for (const r of d.routes ?? []) ns.addRoute(r);
    }
  }
}

let swept = false;

/**
 * Builds `desc` in fresh namespaces, runs `fn`, and always deletes everything
 * (children killed, namespaces deleted) — also when building or `fn` fails.
 * The first call in a process also sweeps namespaces dead runs left behind.
 */
export async function withTopology<T>(
  desc: TopologyDesc,
  fn: (lab: Lab) => Promise<T> | T,
): Promise<T> {
  if (!swept) {
    swept = true;
    sweepLeftovers();
  }
  const lab = new Lab();
  let result: T;
  try {
    lab.build(desc);
    result = await fn(lab);
  } catch (e) {
    try {
      lab.destroy();
    } catch (cleanup) {
      // The test's own failure is the one to report; add the cleanup failure to it.
      if (e instanceof Error) e.message += `\n(also: ${(cleanup as Error).message})`;
    }
    throw e;
  }
  lab.destroy();
  return result;
}

/** A running child process inside a namespace. */
export interface Spawned {
  readonly child: ChildProcess;
  /** Resolves with the first line of the `readyOn` stream matching `readyWhen` (a readiness signal); rejects if the process ends first. */
  readonly ready: Promise<string>;
  /** Resolves when the process ends (never rejects; check status). */
  readonly done: Promise<RunResult>;
}

/**
 * Starts `argv` inside `ns` with a hard timeout (SIGKILL), tracked by `lab`
 * so it cannot outlive the test.
 */
export function spawnIn(
  lab: Lab,
  ns: Netns,
  argv: readonly string[],
  opts: {
    readonly timeoutMs?: number;
    readonly readyOn?: 'stdout' | 'stderr';
    readonly readyWhen?: RegExp;
  } = {},
): Spawned {
  const timeoutMs = Math.min(opts.timeoutMs ?? TRAFFIC_TIMEOUT_MS, TRAFFIC_TIMEOUT_MS);
  const readyOn = opts.readyOn ?? 'stdout';
  const readyWhen = opts.readyWhen ?? /^/;
  const full = ['ip', 'netns', 'exec', ns.name, ...argv];
  const child = spawn(full[0] as string, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.track(child);
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let resolveLine: (l: string) => void = () => {};
  let rejectLine: (e: Error) => void = () => {};
  const ready = new Promise<string>((res, rej) => {
    resolveLine = res;
    rejectLine = rej;
  });
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  const check = (text: string) => {
    // Complete lines only; a resolved promise ignores later calls.
    for (const line of text.split('\n').slice(0, -1))
      if (readyWhen.test(line)) return resolveLine(line);
  };
  child.stdout?.on('data', (d: string) => {
    stdout += d;
    if (readyOn === 'stdout') check(stdout);
  });
  child.stderr?.on('data', (d: string) => {
    stderr += d;
    if (readyOn === 'stderr') check(stderr);
  });
  const done = new Promise<RunResult>((res) => {
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      const result = { status, signal: signal === null ? null : String(signal), stdout, stderr };
      rejectLine(new CommandError(full, status, result.signal, stderr, stdout));
      res(result);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      rejectLine(new CommandError(full, null, null, stderr, stdout, err));
      res({ status: null, signal: null, stdout, stderr: stderr + String(err) });
    });
  });
  // Nobody may be waiting on ready; don't let its rejection go unhandled.
  ready.catch(() => {});
  return { child, ready, done };
}
