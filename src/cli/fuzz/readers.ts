/**
 * The readers the fuzzers aim at, each as a way to turn seed texts and a
 * random generator into one input for the real CLI entry (`main` with an
 * in-memory Io): the cluster files (`trace -f`, `reach -f`), the
 * iptables-save dump (`iptables trace --rules`), the ipset file
 * (`--ipsets`), the routes file (`--routes`) and the command line itself.
 */
import { memoryIo } from '../io.js';
import { main } from '../main.js';
import {
  int,
  mutateArgv,
  mutateBytes,
  mutateIpset,
  mutateIptables,
  mutateRoutes,
  mutateYaml,
  pick,
  type Rand,
} from './mutate.js';

/** One fuzz input: the files the CLI sees and its arguments. */
export interface FuzzInput {
  readonly reader: ReaderName;
  readonly argv: readonly string[];
  readonly files: Readonly<Record<string, string>>;
}

export const READERS = ['cluster', 'iptables', 'ipset', 'routes', 'flags'] as const;
export type ReaderName = (typeof READERS)[number];

/** Seed texts per reader (the caller reads them from examples/ and test/fixtures/). */
export type Seeds = Readonly<Record<'cluster' | 'iptables', readonly string[]>>;

export const IPSET_SEED = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1c0f5b5e
add KUBE-CLUSTER-IP 10.96.0.1,tcp:443
add KUBE-CLUSTER-IP 10.96.0.10,udp:53
create S hash:net family inet hashsize 1024 maxelem 65536
add S 10.244.0.0/16
add S 10.244.1.0/24 nomatch
create B bitmap:port range 0-1023
add B 22
create L list:set size 8
add L S
`;
const IPSET_RULES = `*filter
-A INPUT -m set --match-set S src -j DROP
-A FORWARD -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A OUTPUT -m set --match-set L dst -j REJECT
COMMIT
`;
export const ROUTES_SEEDS = [
  `0:\tfrom all lookup local
32766:\tfrom all lookup main
32767:\tfrom all lookup default
default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.2 metric 100
10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2
blackhole 10.244.1.0/24 proto bird
local 10.0.0.2 dev eth0 table local proto kernel scope host src 10.0.0.2
broadcast 10.0.0.255 dev eth0 table local proto kernel scope link src 10.0.0.2
fe80::/64 dev eth0 proto kernel metric 256 pref medium
`,
  `[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"}]
[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","protocol":"dhcp","prefsrc":"10.0.0.2","metric":100,"flags":[]},{"dst":"10.0.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.2","flags":[]},{"type":"local","dst":"10.0.0.2","dev":"eth0","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.0.0.2","flags":[]}]
`,
];
const RPF_RULES = `*raw
-A PREROUTING -m rpfilter --invert -j DROP
COMMIT
*mangle
-A PREROUTING -m rpfilter --loose -j MARK --set-xmark 0x1/0xffffffff
COMMIT
`;
const PACKET = [
  '--src',
  '10.244.1.9',
  '--dst',
  '10.96.12.34',
  '--dport',
  '80',
  '--local-ip',
  '192.168.1.10',
];
const RPF_PACKET = [
  '--src',
  '10.0.0.9',
  '--dst',
  '10.0.0.2',
  '--dport',
  '80',
  '--local-ip',
  '10.0.0.2/24@eth0',
  '--in-iface',
  'eth0',
];

/** Several mutations of one text, structure-aware and blind mixed. */
function mutate(
  r: Rand,
  text: string,
  other: string,
  aware: (r: Rand, t: string) => string,
): string {
  let t = text;
  for (let k = 1 + int(r, 4); k > 0; k--) t = r() < 0.5 ? aware(r, t) : mutateBytes(r, t, other);
  return t;
}

/** Pod refs in a cluster text, for --from/--to. */
function podRefs(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /kind: Pod\n(?:.*\n){0,3}?\s+name: (\S+)(?:\n\s+namespace: (\S+))?/g,
  ))
    out.push(`${m[2] ?? 'default'}/${m[1]}`);
  return out.length > 0 ? out : ['default/a'];
}

/** One input for `reader` from the seeds. */
export function makeInput(reader: ReaderName, r: Rand, seeds: Seeds): FuzzInput {
  switch (reader) {
    case 'cluster': {
      const seed = pick(r, seeds.cluster);
      const text = mutate(r, seed, pick(r, seeds.cluster), mutateYaml);
      const refs = podRefs(seed);
      const argv =
        r() < 0.7
          ? [
              'trace',
              '-f',
              'c.yaml',
              '--from',
              pick(r, refs),
              '--to',
              pick(r, refs),
              ...(r() < 0.3 ? ['--port', '80'] : []),
            ]
          : ['reach', '-f', 'c.yaml', ...(r() < 0.5 ? ['-o', 'json'] : [])];
      return { reader, argv, files: { 'c.yaml': text } };
    }
    case 'iptables': {
      const seed = pick(r, seeds.iptables);
      const text = mutate(r, seed, pick(r, seeds.iptables), mutateIptables);
      const argv = [
        'iptables',
        'trace',
        '--rules',
        'r.rules',
        ...PACKET,
        ...(r() < 0.3 ? ['--all-paths'] : []),
        ...(r() < 0.3 ? ['--reply'] : []),
      ];
      return { reader, argv, files: { 'r.rules': text } };
    }
    case 'ipset': {
      const text = mutate(r, IPSET_SEED, IPSET_SEED, mutateIpset);
      const argv = ['iptables', 'trace', '--rules', 'r.rules', '--ipsets', 's.txt', ...PACKET];
      return { reader, argv, files: { 'r.rules': IPSET_RULES, 's.txt': text } };
    }
    case 'routes': {
      const seed = pick(r, ROUTES_SEEDS);
      const text = mutate(r, seed, pick(r, ROUTES_SEEDS), mutateRoutes);
      const argv = [
        'iptables',
        'trace',
        '--rules',
        'r.rules',
        '--routes',
        'routes.txt',
        ...RPF_PACKET,
      ];
      return { reader, argv, files: { 'r.rules': RPF_RULES, 'routes.txt': text } };
    }
    case 'flags': {
      const seed = pick(r, seeds.iptables);
      const base =
        r() < 0.5
          ? ['iptables', 'trace', '--rules', 'r.rules', ...PACKET, '-o', 'json']
          : [
              'trace',
              '-f',
              'c.yaml',
              '--from',
              'default/pod1',
              '--to',
              'default/pod2',
              '--port',
              '80',
            ];
      let argv: string[] = base;
      for (let k = 1 + int(r, 3); k > 0; k--) argv = mutateArgv(r, argv);
      return { reader, argv, files: { 'r.rules': seed, 'c.yaml': pick(r, seeds.cluster) } };
    }
  }
}

/**
 * A run longer than this is a hang: the fuzzer reports it, and a replayed
 * finding must stay under it (a bound, not a speed figure: the first run in a
 * test process also pays the CLI's imports, and a loaded machine stretches it).
 */
export const HANG_MS = 20_000;

/** What one run gave: the exit code (1 is packeteye's internal error), its time, stderr's start. */
export interface Outcome {
  readonly code: number;
  readonly ms: number;
  readonly stderr: string;
  /** Output size in bytes (stdout + stderr). */
  readonly bytes: number;
}

/** Runs one input through the real CLI entry, in this process. */
export async function runInput(input: FuzzInput, stdin?: string): Promise<Outcome> {
  const io = memoryIo({ ...input.files }, stdin !== undefined ? { stdin } : {});
  const t0 = performance.now();
  let code: number;
  try {
    code = await main(input.argv, io);
  } catch (e) {
    // main never throws by contract; a throw is a crash.
    code = 70;
    io.err(`uncaught: ${(e as Error).stack ?? String(e)}`);
  }
  return {
    code,
    ms: performance.now() - t0,
    stderr: io.stderr.slice(0, 2000),
    bytes: io.stdout.length + io.stderr.length,
  };
}

/** An exit packeteye promises never to give: anything but 0 (answered) and 2 (bad input). */
export const isFailure = (o: Outcome): boolean => o.code !== 0 && o.code !== 2;
