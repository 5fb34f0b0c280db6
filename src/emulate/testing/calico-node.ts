/**
 * A Calico-style node in real network namespaces, as the policy kernel tests
 * (src/policy/calico.kernel.test.ts, test/integration/policy-enforce.kernel.test.ts) build
 * it: a node namespace with IP forwarding and an uplink holding a default
 * route (proxy ARP answers only for addresses the node can route), and per
 * pod a namespace on a `cali…` veth wired as Calico's CNI plugin does it
 * (cni-plugin/pkg/dataplane/linux: /32 address, link-local gateway
 * 169.254.1.1, proxy ARP without delay on the host side, a /32 host route).
 * TCP listeners and connection attempts go through socat. Test-only
 * (tsconfig.build.json leaves `testing/` out of the build).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Runs args (20 s limit), optionally with stdin; returns stdout, throws when it fails. */
export function run(args: readonly string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 20_000,
  });
}

/** Does a TCP connection from namespace `ns` to ip:port complete (1.5 s to connect)? */
export function connects(ns: string, ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, 'socat', '-u', '/dev/null', `TCP:${ip}:${port},connect-timeout=1.5`],
      { timeout: 5_000 },
      (err) => resolve(err === null),
    );
  });
}

/** A TCP listener on `port` in namespace `ns` that accepts and closes every connection. */
export function listen(ns: string, port: number): ChildProcess {
  return spawn(
    'ip',
    ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'SYSTEM:true'],
    { stdio: 'ignore' },
  );
}

/**
 * Creates node namespace `node` (recorded in `created`) with IP forwarding and
 * an uplink veth `uplink.dev` (peer `up1`) holding `uplink.cidr` and a default
 * route via `uplink.gateway`.
 */
export function addNode(
  node: string,
  created: string[],
  uplink: { readonly dev: string; readonly cidr: string; readonly gateway: string },
): void {
  run(['ip', 'netns', 'add', node]);
  created.push(node);
  run(['ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  run(['ip', '-n', node, 'link', 'set', 'lo', 'up']);
  run(['ip', '-n', node, 'link', 'add', uplink.dev, 'type', 'veth', 'peer', 'name', 'up1']);
  run(['ip', '-n', node, 'link', 'set', uplink.dev, 'up']);
  run(['ip', '-n', node, 'link', 'set', 'up1', 'up']);
  run(['ip', '-n', node, 'addr', 'add', uplink.cidr, 'dev', uplink.dev]);
  run([
    'ip',
    '-n',
    node,
    'route',
    'add',
    'default',
    'via',
    uplink.gateway,
    'dev',
    uplink.dev,
    'onlink',
  ]);
}

/**
 * Creates pod namespace `ns` (recorded in `created`) with address `ip`, joined
 * to namespace `node` by veth `iface` (the pod's end is eth0), as Calico's CNI
 * plugin wires it.
 */
export function addCalicoPod(
  node: string,
  ns: string,
  created: string[],
  iface: string,
  ip: string,
): void {
  run(['ip', 'netns', 'add', ns]);
  created.push(ns);
  run([
    'ip',
    'link',
    'add',
    iface,
    'netns',
    node,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns,
  ]);
  run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  run(['ip', '-n', ns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
  run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  // Calico's pod side: a link-local gateway reached by proxy ARP on the host veth.
  run(['ip', '-n', ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
  run(['ip', '-n', ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
  run(['ip', '-n', node, 'link', 'set', iface, 'up']);
  // As Calico's CNI plugin: proxy ARP without delay on the host side.
  run([
    'ip',
    'netns',
    'exec',
    node,
    'sysctl',
    '-qw',
    `net.ipv4.conf.${iface}.proxy_arp=1`,
    `net.ipv4.neigh.${iface}.proxy_delay=0`,
  ]);
  run(['ip', '-n', node, 'route', 'add', `${ip}/32`, 'dev', iface, 'scope', 'link']);
}

/** Kills the listeners and deletes the namespaces (one already gone is no error). */
export function stopAll(listeners: readonly ChildProcess[], created: readonly string[]): void {
  for (const l of listeners) l.kill('SIGKILL');
  for (const ns of created) {
    try {
      run(['ip', 'netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
}
