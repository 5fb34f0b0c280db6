/**
 * Builds a twin's data plane in real Linux network namespaces, derived FROM
 * the twin's kernel state (not from a hand-written copy): every host of the
 * twin's Network becomes a namespace; its links (veth pairs, bridges with
 * their ports and hairpin flags, ether devices on segments), addresses,
 * non-kernel routes, the sysctls the stack reads, and the node's iptables
 * ruleset (loaded with iptables-restore) are emitted as the `ip` /
 * `bridge` / `sysctl` / `iptables-restore` commands that make the same
 * state. A segment (the underlay) becomes its own namespace with a bridge
 * and one veth per attached ether device.
 *
 * Namespaces are named `pe-twin-<pid>-<n>` and deleted by `destroy()`.
 */
import type { Host, Link } from '../kernel/host.js';
import { formatRoute } from '../kernel/fib.js';
import { IptablesHooks } from '../kernel/netfilter/install.js';
import type { Twin } from '../twin/index.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { Netns, run, tryRun } from './netns.js';

let counter = 0;

/** The sysctls the twin's stack reads and the real kernel must agree on. */
const SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.bridge.bridge-nf-call-iptables',
  'net.ipv4.conf.all.route_localnet',
  'net.ipv4.conf.all.send_redirects',
  'net.ipv4.conf.all.rp_filter',
];

export interface RealTwin {
  /** Twin host name → its real namespace. */
  readonly ns: ReadonlyMap<string, Netns>;
  /** Every command run, in order (for failure messages). */
  readonly commands: readonly string[];
  destroy(): void;
}

export function buildRealTwin(
  twin: Twin,
  opts: {
    hosts?: (h: Host) => boolean;
    /** Namespace name prefix, default `pe-twin`. */ prefix?: string;
  } = {},
): RealTwin {
  const hosts = twin.network.hosts().filter(opts.hosts ?? (() => true));
  const ns = new Map<string, Netns>();
  const owned: string[] = [];
  const commands: string[] = [];
  const exec = (argv: string[]): void => {
    commands.push(argv.join(' '));
    run(argv);
  };
  const create = (role: string): Netns => {
    counter += 1;
    const name = `${opts.prefix ?? 'pe-twin'}-${process.pid}-${counter}`;
    exec(['ip', 'netns', 'add', name]);
    owned.push(name);
    const n = new Netns(name, role);
    exec(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return n;
  };
  const destroy = (): void => {
    const errors: string[] = [];
    for (const name of owned.splice(0).reverse()) {
      const r = tryRun(['ip', 'netns', 'del', name]);
      if (r.status !== 0) errors.push(`ip netns del ${name}: ${r.stderr.trim()}`);
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  };
  try {
    for (const h of hosts) ns.set(h.name, create(h.name));
    const segments = new Map<string, { ns: Netns; ports: number }>();
    // 1. devices
    for (const h of hosts) {
      const n = ns.get(h.name)!;
      for (const l of h.linkList()) {
        if (l.isLoopback) continue;
        addDevice(h, l, n, { ns, exec, create, segments });
      }
    }
    // 2. MTU, masters, hairpin, up
    for (const h of hosts) {
      const n = ns.get(h.name)!;
      for (const l of h.linkList()) {
        if (l.isLoopback) continue;
        exec(['ip', '-n', n.name, 'link', 'set', l.name, 'mtu', String(l.mtu)]);
        if (l.master) exec(['ip', '-n', n.name, 'link', 'set', l.name, 'master', l.master]);
        if (l.port)
          exec([
            'ip',
            'netns',
            'exec',
            n.name,
            'bridge',
            'link',
            'set',
            'dev',
            l.name,
            'hairpin',
            l.port.hairpin ? 'on' : 'off',
          ]);
      }
    }
    // 3. addresses, then links up (addresses first, as the CNI plugin does), then routes
    for (const h of hosts) {
      const n = ns.get(h.name)!;
      for (const l of h.linkList()) {
        for (const a of h.addressesOf(l.name)) {
          if (l.isLoopback && a.local === '127.0.0.1') continue;
          exec(['ip', '-n', n.name, 'addr', 'add', `${a.local}/${a.prefix}`, 'dev', l.name]);
        }
      }
      for (const l of h.linkList())
        if (!l.isLoopback && l.adminUp) exec(['ip', '-n', n.name, 'link', 'set', l.name, 'up']);
    }
    for (const h of hosts) {
      const n = ns.get(h.name)!;
      for (const key of SYSCTLS) {
        const v = h.sysctl.get(key);
        if (v === undefined) continue;
        exec(['ip', 'netns', 'exec', n.name, 'sysctl', '-q', '-w', `${key}=${v}`]);
      }
      for (const r of h.route.list('main')) {
        if (r.proto === 'kernel') continue;
        exec(['ip', '-n', n.name, 'route', 'add', ...formatRoute(r).split(' ')]);
      }
    }
    // 4. each namespace's ruleset, as its netfilter holds it (nodes: kube-proxy + CNI; the VPC: 1:1 NAT)
    for (const h of hosts) {
      if (!(h.netfilter instanceof IptablesHooks)) continue;
      const n = ns.get(h.name)!;
      // The node's IP sets first: iptables-restore refuses a rule naming a set that does not exist.
      const sets = twin.nodeRules.get(h.name)?.ipsetSave ?? '';
      if (sets !== '') {
        commands.push(`ipset restore (${h.name})`);
        n.exec(['ipset', 'restore'], { input: sets });
      }
      commands.push(`iptables-restore (${h.name})`);
      n.iptablesRestore(serializeRuleset(h.netfilter.nf.ruleset));
    }
  } catch (e) {
    try {
      destroy();
    } catch {
      // the build failure is the one to report
    }
    if (e instanceof Error)
      e.message += `\ncommands so far:\n  ${commands.slice(-15).join('\n  ')}`;
    throw e;
  }
  return { ns, commands, destroy };
}

/** What creating a device needs: the namespaces so far, the command runner, new namespaces for segments. */
interface DeviceBuild {
  readonly ns: Map<string, Netns>;
  readonly exec: (argv: string[]) => void;
  readonly create: (role: string) => Netns;
  readonly segments: Map<string, { ns: Netns; ports: number }>;
}

/** `ip link add` for one device of the twin's host `h` in its namespace `n` (a segment is a bridge in a namespace of its own). */
function addDevice(h: Host, l: Link, n: Netns, b: DeviceBuild): void {
  const { ns, exec, create, segments } = b;
  switch (l.kind) {
    case 'bridge':
      exec(['ip', '-n', n.name, 'link', 'add', l.name, 'type', 'bridge']);
      return;
    case 'veth': {
      const peer = l.peer!;
      const other = ns.get(peer.host);
      if (!other) throw new Error(`${h.name}/${l.name}: peer host ${peer.host} is not being built`);
      // Create each pair once, from the end whose (host, name) sorts first.
      if (`${h.name}\0${l.name}` > `${peer.host}\0${peer.name}`) return;
      exec([
        'ip',
        '-n',
        n.name,
        'link',
        'add',
        l.name,
        'type',
        'veth',
        'peer',
        'name',
        peer.name,
        'netns',
        other.name,
      ]);
      return;
    }
    case 'ether': {
      if (l.wire.kind !== 'segment')
        throw new Error(`${h.name}/${l.name}: only segment wires can be emulated`);
      let seg = segments.get(l.wire.segment);
      if (!seg) {
        seg = { ns: create(`segment ${l.wire.segment}`), ports: 0 };
        exec(['ip', '-n', seg.ns.name, 'link', 'add', 'sw', 'type', 'bridge']);
        exec(['ip', '-n', seg.ns.name, 'link', 'set', 'sw', 'up']);
        segments.set(l.wire.segment, seg);
      }
      const port = `p${seg.ports++}`;
      exec([
        'ip',
        '-n',
        seg.ns.name,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        l.name,
        'netns',
        n.name,
      ]);
      exec(['ip', '-n', seg.ns.name, 'link', 'set', port, 'master', 'sw', 'up']);
      return;
    }
    default:
      throw new Error(`${h.name}/${l.name}: ${l.kind} devices are not emulated`);
  }
}
