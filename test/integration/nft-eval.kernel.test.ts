/**
 * nft expressions whose reading is a Linux claim, checked against the real
 * kernel: the same ruleset loaded with `nft -f` in a namespace, real
 * packets through it, its counters read back, and `packeteye nft trace` of
 * the same packet on the same text.
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { canEmulate, withTopology } from '../../src/emulate/index.js';
import { parseNft } from '../../src/iptables/nft/parse.js';
import type { NftRuleset } from '../../src/kernel/netfilter/nft-types.js';

/** The rules' expressions chain by chain: what a script and the kernel's listing of it must share. */
function exprs(rs: NftRuleset): string {
  const out: Record<string, unknown> = {};
  for (const t of rs.tables)
    for (const [name, ch] of t.chains)
      out[`${t.family} ${t.name} ${name}`] = ch.rules.map((r) => r.exprs);
  return JSON.stringify(out, (k, v: unknown) =>
    k === 'source' ? undefined : typeof v === 'bigint' ? `${v}n` : v,
  );
}

interface Alt {
  verdict: string;
  unsupported?: unknown;
  hits: { line: number }[];
}

async function nftTrace(ruleset: string, ...args: string[]): Promise<Alt> {
  const io = memoryIo({ 'r.nft': ruleset });
  const code = await main(['nft', 'trace', '--ruleset', 'r.nft', ...args, '-o', 'json'], io);
  expect(code, io.stderr).toBe(0);
  return (JSON.parse(io.stdout) as { alternatives: Alt[] }).alternatives[0]!;
}

/** Each rule's packet counter, in order, from `nft list ruleset`. */
function counters(listing: string): number[] {
  return [...listing.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
}

describe.skipIf(!canEmulate(['ip', 'nft', 'ping']))('nft expressions on the real kernel', () => {
  it('th sport/dport on ICMP read its header (type and code; the checksum), not nothing', async () => {
    // Lines 3–6: the rules, each only counting.
    const ruleset = `table ip t {
\tchain o { type filter hook output priority 0; policy accept;
\t\tth sport 2048 counter
\t\tip daddr . meta l4proto . th dport { 127.0.0.1 . tcp . 80 } counter
\t\tth dport 0 counter
\t\tth dport != 0 counter
\t}
}
`;
    await withTopology({ netns: { node: {} }, veths: [] }, (lab) => {
      const node = lab.ns('node');
      node.exec(['ip', 'link', 'set', 'lo', 'up']);
      node.exec(['nft', '-f', '-'], { input: ruleset });
      node.exec(['ping', '-c', '1', '-W', '1', '127.0.0.1']);
      const [typeCode, concat, zero, nonZero] = counters(node.exec(['nft', 'list', 'ruleset']));
      // The echo request is type 8 code 0: th sport reads 8 << 8 = 2048 (the reply reads 0).
      expect(typeCode).toBe(1);
      // No TCP key matches an ICMP packet.
      expect(concat).toBe(0);
      // Request and reply both read a checksum: the read never fails.
      expect(zero! + nonZero!).toBe(2);
    });
    const a = await nftTrace(
      ruleset,
      '--src',
      '127.0.0.1',
      '--dst',
      '127.0.0.1',
      '--proto',
      'icmp',
      '--local-ip',
      '127.0.0.1/8@lo',
    );
    // packeteye: the type/code rule matches, the concatenation misses whatever the checksum,
    // and the checksum itself, which depends on the payload, is not guessed.
    expect(a.hits.map((h) => h.line)).toEqual([3]);
    expect(a.verdict).toBe('UNSUPPORTED');
    expect(JSON.stringify(a.unsupported)).toMatch(/th dport of an ICMP message reads its checksum.*"line":5/);
  }, 60_000);

  it('a script with define, delete and a handle-less redefine reads as the kernel lists what it loaded', async () => {
    const script = [
      'define NETS = { 10.0.0.0/8, 192.168.0.0/16 }',
      'define WEB = { 80, 443 }',
      'define ALL = $NETS',
      'add table ip t',
      'add chain ip t c { type filter hook input priority 0 ; }',
      'add chain ip t gone',
      'add rule ip t c ip saddr $ALL tcp dport $WEB accept',
      'add rule ip t c ip saddr 1.1.1.1 drop',
      'add set ip t s { type ipv4_addr ; flags interval ; }',
      'add element ip t s { 1.1.1.1, 10.0.0.0/8 }',
      'delete element ip t s { 10.0.0.0/8 }',
      'delete chain ip t gone',
      'undefine WEB',
      'define WEB = 8080',
      'add rule ip t c ip saddr @s tcp dport $WEB drop',
      '',
    ].join('\n');
    let listing = '';
    await withTopology({ netns: { node: {} }, veths: [] }, (lab) => {
      const node = lab.ns('node');
      node.exec(['nft', '-f', '-'], { input: script });
      listing = node.exec(['nft', '-a', 'list', 'ruleset']);
    });
    const fromScript = parseNft(script, 's.nft');
    const fromKernel = parseNft(listing, 'l.nft');
    expect(fromScript.diagnostics).toEqual([]);
    expect(fromKernel.diagnostics).toEqual([]);
    expect(exprs(fromScript.ruleset)).toBe(exprs(fromKernel.ruleset));
    const set = (rs: NftRuleset) => rs.tables[0]!.sets.get('s')!.elements.map((e) => e.key);
    expect(set(fromScript.ruleset)).toEqual(set(fromKernel.ruleset));
  }, 60_000);

  it("quota and byte-rate limit decide a packet by its length as the kernel does", async () => {
    // An echo request without data (ping -s 0, as packeteye's) is 28 bytes at the IP hooks. Lines 3–10.
    const ruleset = `table ip t {
\tchain o { type filter hook output priority 0; policy accept;
\t\ticmp type echo-request quota 28 bytes counter
\t\ticmp type echo-request quota 27 bytes counter
\t\ticmp type echo-request quota over 27 bytes counter
\t\ticmp type echo-request quota 30 bytes used 5 bytes counter
\t\ticmp type echo-request limit rate 28 bytes/second counter
\t\ticmp type echo-request limit rate 14 bytes/second counter
\t\ticmp type echo-request limit rate 14 bytes/second burst 14 bytes counter
\t\ticmp type echo-request limit rate over 14 bytes/second counter
\t}
}
`;
    let kernel: number[] = [];
    await withTopology({ netns: { node: {} }, veths: [] }, (lab) => {
      const node = lab.ns('node');
      node.exec(['ip', 'link', 'set', 'lo', 'up']);
      node.exec(['nft', '-f', '-'], { input: ruleset });
      node.exec(['ping', '-c', '1', '-s', '0', '-W', '1', '127.0.0.1']);
      kernel = counters(node.exec(['nft', 'list', 'ruleset']));
    });
    expect(kernel).toEqual([1, 0, 1, 0, 1, 0, 1, 1]);
    const a = await nftTrace(
      ruleset,
      '--src',
      '127.0.0.1',
      '--dst',
      '127.0.0.1',
      '--proto',
      'icmp',
      '--local-ip',
      '127.0.0.1/8@lo',
    );
    expect(a.verdict).toBe('ACCEPT');
    expect(a.hits.map((h) => h.line)).toEqual(
      kernel.flatMap((n, i) => (n > 0 ? [i + 3] : [])),
    );
  }, 60_000);

  it('fib … oif/oifname: the reverse path, the route out, a local destination as none', async () => {
    // Lines 3–7.
    const ruleset = `table ip t {
\tchain pre { type filter hook prerouting priority 0; policy accept;
\t\ticmp type echo-request fib saddr . iif oif missing counter
\t\ticmp type echo-request fib saddr . iif oif exists counter
\t\ticmp type echo-request fib daddr oif missing counter
\t\ticmp type echo-request fib daddr oifname "eth1" counter
\t\ticmp type echo-request fib saddr oifname "eth0" counter
\t}
}
`;
    const flows = [
      { name: 'to the node', src: '10.1.0.2', dst: '10.1.0.1', out: [] as string[] },
      { name: 'through the node', src: '10.1.0.2', dst: '10.2.0.2', out: ['--out-iface', 'eth1'] },
      { name: 'spoofed', src: '10.2.0.77', dst: '10.1.0.1', out: [] as string[] },
    ];
    const kernel: number[][] = [];
    let routes = '';
    await withTopology(
      {
        netns: {
          a: { routes: [{ to: 'default', via: '10.1.0.1' }] },
          node: { sysctls: { 'net.ipv4.ip_forward': 1 } },
          b: { routes: [{ to: 'default', via: '10.2.0.1' }] },
        },
        veths: [
          {
            a: { ns: 'a', dev: 'eth0', addrs: ['10.1.0.2/24', '10.2.0.77/32'] },
            b: { ns: 'node', dev: 'eth0', addrs: ['10.1.0.1/24'] },
          },
          {
            a: { ns: 'node', dev: 'eth1', addrs: ['10.2.0.1/24'] },
            b: { ns: 'b', dev: 'eth0', addrs: ['10.2.0.2/24'] },
          },
        ],
      },
      (lab) => {
        const node = lab.ns('node');
        routes = node.exec(['ip', '-j', 'route', 'show', 'table', 'all']);
        for (const f of flows) {
          node.exec(['nft', 'flush', 'ruleset']);
          node.exec(['nft', '-f', '-'], { input: ruleset });
          lab.ns('a').tryExec(['ping', '-c', '1', '-s', '0', '-W', '1', '-I', f.src, f.dst]);
          kernel.push(counters(node.exec(['nft', 'list', 'ruleset'])));
        }
      },
    );
    // The echo requests only (the forwarded one's answer comes back through prerouting too).
    expect(kernel).toEqual([
      [0, 1, 1, 0, 1],
      [0, 1, 0, 1, 1],
      [1, 0, 1, 0, 0],
    ]);
    for (const [i, f] of flows.entries()) {
      const io = memoryIo({ 'r.nft': ruleset, 'routes.json': routes });
      const code = await main(
        [
          'nft',
          'trace',
          '--ruleset',
          'r.nft',
          '--routes',
          'routes.json',
          '--src',
          f.src,
          '--dst',
          f.dst,
          '--proto',
          'icmp',
          '--in-iface',
          'eth0',
          ...f.out,
          '--local-ip',
          '10.1.0.1/24@eth0',
          '--local-ip',
          '10.2.0.1/24@eth1',
          '-o',
          'json',
        ],
        io,
      );
      expect(code, io.stderr).toBe(0);
      const a = (JSON.parse(io.stdout) as { alternatives: Alt[] }).alternatives[0]!;
      const pre = a.hits.filter((h) => h.line >= 3 && h.line <= 7).map((h) => h.line);
      expect(pre, f.name).toEqual(kernel[i]!.flatMap((n, k) => (n > 0 ? [k + 3] : [])));
    }
  }, 60_000);
});
