/**
 * The real kernel as the oracle for `packeteye iptables trace` on an
 * ip6tables dump. client → router → server namespaces (pe-ip6-<pid>-c/-r/-s)
 * joined by veths; the router loads the dump below with `ip6tables-restore`;
 * the client connects for real with socat, and what the kernel did (the
 * socket's outcome, the router's `conntrack -L -f ipv6` tuples) must equal
 * what packeteye says for the same dump text: DNAT in PREROUTING to
 * `[addr]:port`, MASQUERADE to the out device's IPv6 address, REJECT with
 * tcp-reset / icmp6-adm-prohibited / the default icmp6-port-unreachable, DROP.
 * Runs only as root with ip, ip6tables-restore, conntrack and socat; every
 * namespace and the server process are removed in afterAll.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canRun = isRoot && ['ip', 'ip6tables-restore', 'conntrack', 'socat'].every((c) => have(c));
const P = `pe-ip6-${process.pid}`;
const C = `${P}-c`;
const R = `${P}-r`;
const S = `${P}-s`;

const CLIENT = '2001:db8:1::2';
const R_IN = '2001:db8:1::1';
const R_OUT = '2001:db8:2::1';
const SERVER = '2001:db8:2::2';
const VIP = '2001:db8:99::100';

const DUMP = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  `-A PREROUTING -d ${VIP}/128 -p tcp -m tcp --dport 80 -j DNAT --to-destination [${SERVER}]:8080`,
  '-A POSTROUTING -s 2001:db8:1::/64 -o eth1 -j MASQUERADE',
  'COMMIT',
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A INPUT -p tcp -m tcp --dport 26 -j REJECT --reject-with icmp6-port-unreachable',
  '-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset',
  '-A FORWARD -p tcp -m tcp --dport 24 -j REJECT --reject-with icmp6-adm-prohibited',
  '-A FORWARD -p tcp -m tcp --dport 25 -j DROP',
  'COMMIT',
  '',
].join('\n');

function sh(ns: string, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 20_000,
    ...(input !== undefined ? { input } : {}),
  });
}

/** What the client's connect did: data back, refused, permission denied (ICMPv6 prohibited) or timeout. */
function connect(dst: string, dport: number, sport: number): string {
  try {
    const out = sh(
      C,
      ['socat', '-T2', '-', `TCP6:[${dst}]:${dport},sourceport=${sport},connect-timeout=2`],
      '',
    );
    return out.includes('ok') ? 'connected' : `connected, got ${JSON.stringify(out)}`;
  } catch (e) {
    const msg = String((e as { stderr?: string }).stderr ?? e);
    if (/refused/i.test(msg)) return 'refused';
    if (/permission denied/i.test(msg)) return 'prohibited';
    if (/timed out|timeout/i.test(msg)) return 'timeout';
    return `error: ${msg.trim().split('\n').pop() ?? ''}`;
  }
}

async function packeteye(dst: string, dport: number, sport: number) {
  const io = memoryIo({ 'router.rules': DUMP });
  const args = ['iptables', 'trace', '--rules', 'router.rules', '--src', CLIENT, '--dst', dst];
  args.push('--dport', String(dport), '--sport', String(sport), '-o', 'json');
  args.push('--local-ip', `${R_IN}/64@eth0`, '--local-ip', `${R_OUT}/64@eth1`);
  args.push('--in-iface', 'eth0', '--out-iface', 'eth1');
  const code = await main(args, io);
  expect(code, io.stderr).toBe(0);
  return JSON.parse(io.stdout).alternatives[0] as {
    verdict: string;
    dnat: string | null;
    snat: { kind: string; to: string } | null;
    reject?: { with: string };
  };
}

/** packeteye's verdict in the client's words. */
function expectedOutcome(a: { verdict: string; reject?: { with: string } }): string {
  if (a.verdict === 'ACCEPT') return 'connected';
  if (a.verdict === 'DROP') return 'timeout';
  if (a.verdict === 'REJECT')
    return a.reject?.with === 'icmp6-adm-prohibited' ? 'prohibited' : 'refused';
  return a.verdict;
}

describe.skipIf(!canRun)('ip6tables on the real kernel = packeteye iptables trace', () => {
  let server: ChildProcess | undefined;
  beforeAll(async () => {
    for (const ns of [C, R, S]) {
      execFileSync('ip', ['netns', 'add', ns]);
      sh(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
    execFileSync('ip', [
      'link',
      'add',
      'eth0',
      'netns',
      C,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      R,
    ]);
    execFileSync('ip', [
      'link',
      'add',
      'eth1',
      'netns',
      R,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      S,
    ]);
    const addr = (ns: string, dev: string, a: string) => {
      sh(ns, ['ip', '-6', 'addr', 'add', a, 'dev', dev, 'nodad']);
      sh(ns, ['ip', 'link', 'set', dev, 'up']);
    };
    addr(C, 'eth0', `${CLIENT}/64`);
    addr(R, 'eth0', `${R_IN}/64`);
    addr(R, 'eth1', `${R_OUT}/64`);
    addr(S, 'eth0', `${SERVER}/64`);
    sh(C, ['ip', '-6', 'route', 'add', 'default', 'via', R_IN]);
    sh(S, ['ip', '-6', 'route', 'add', 'default', 'via', R_OUT]);
    sh(R, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    sh(R, ['ip6tables-restore'], DUMP);
    server = spawn(
      'ip',
      ['netns', 'exec', S, 'socat', 'TCP6-LISTEN:8080,fork,reuseaddr', 'SYSTEM:echo ok'],
      {
        stdio: 'ignore',
      },
    );
    // Wait for the listener.
    for (let i = 0; i < 50; i++) {
      if (/:8080\b/.test(sh(S, ['ss', '-ltn']))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);
  afterAll(() => {
    if (server?.pid !== undefined) {
      try {
        process.kill(server.pid);
      } catch {
        // gone
      }
    }
    for (const ns of [C, R, S]) {
      try {
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  });

  it('DNAT to [addr]:port and MASQUERADE to the out device address, as conntrack shows', async () => {
    const sport = 40100;
    expect(connect(VIP, 80, sport)).toBe('connected');
    const ct = sh(R, [
      'conntrack',
      '-L',
      '-f',
      'ipv6',
      '-p',
      'tcp',
      '--orig-port-src',
      String(sport),
    ]);
    // original: src=CLIENT dst=VIP sport dport=80; reply: src=SERVER dst=R_OUT sport=8080 dport=…
    const m =
      /src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+).*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(
        ct,
      );
    expect(m, ct).not.toBeNull();
    const kernelDnat = `[${m![5]}]:${m![7]}`;
    const kernelSnat = `[${m![6]}]:${m![8]}`;
    const a = await packeteye(VIP, 80, sport);
    expect(a.verdict).toBe('ACCEPT');
    expect(a.dnat).toBe(kernelDnat);
    expect(a.snat).toMatchObject({ kind: 'MASQUERADE', to: kernelSnat });
    expect(kernelDnat).toBe(`[${SERVER}]:8080`);
  });

  it.each([
    [SERVER, 23, 40123],
    [SERVER, 24, 40124],
    [SERVER, 25, 40125],
    [R_IN, 26, 40126],
    [SERVER, 8080, 40127],
  ])('[%s]:%d: the client sees what packeteye predicts', async (dst, dport, sport) => {
    const kernel = connect(dst, dport, sport);
    const a = await packeteye(dst, dport, sport);
    expect(kernel).toBe(expectedOutcome(a));
  });
});
