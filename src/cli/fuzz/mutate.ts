/**
 * The fuzzers' mutations, all driven by one seeded generator so a run is
 * reproducible from its seed: byte and line mutations that know nothing of
 * the format (flip, insert, delete, repeat, splice two seeds), and
 * structure-aware ones per reader that write what the format's own
 * grammar allows in places it does not expect (iptables jumps, gotos and
 * chains; YAML keys, scalars, nesting and anchors; ipset options; route
 * keywords; CLI flags).
 */

export type Rand = () => number;

export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const int = (r: Rand, n: number): number => Math.floor(r() * n);

/** Values readers meet at their edges. */
const INTERESTING = [
  '',
  ' ',
  '\t',
  '\r',
  '\n',
  '\u0000',
  '\uFEFF',
  '"',
  "'",
  '\\',
  '#',
  ':',
  '- ',
  '---',
  '...',
  '[',
  ']',
  '{',
  '}',
  '*',
  '&a',
  '*a',
  '<<',
  '!',
  '!!binary',
  '|',
  '>',
  '%YAML 1.1',
  '0',
  '-1',
  '65535',
  '65536',
  '4294967295',
  '4294967296',
  '1e309',
  'NaN',
  'null',
  '~',
  'true',
  '0x',
  '0xffffffff',
  '255.255.255.255',
  '0.0.0.0/0',
  '10.0.0.1/33',
  '::',
  '::1/129',
  'fe80::1%eth0',
  '-A',
  '-I',
  '-N',
  '-X',
  '-F',
  '-P',
  '-j',
  '-g',
  '-m',
  '!',
  '--',
  'COMMIT',
  '*filter',
  '*nat',
  ':X - [0:0]',
  'create',
  'add',
  'range',
  'bitmap:ip',
  'hash:ip,port',
  'tcp:0-65535',
  'via',
  'dev',
  'table',
  'local',
  'x'.repeat(300),
  '9'.repeat(40),
  'é',
  '😀',
];

/** One format-blind mutation of `text`; `other` is another seed for splices. */
export function mutateBytes(r: Rand, text: string, other: string): string {
  const lines = text.split('\n');
  switch (int(r, 10)) {
    case 0: {
      // flip a character
      if (text.length === 0) return pick(r, INTERESTING);
      const i = int(r, text.length);
      return text.slice(0, i) + String.fromCharCode(int(r, 128)) + text.slice(i + 1);
    }
    case 1: {
      const i = int(r, text.length + 1);
      return text.slice(0, i) + pick(r, INTERESTING) + text.slice(i);
    }
    case 2: {
      const i = int(r, text.length + 1);
      return text.slice(0, i) + text.slice(i + 1 + int(r, 64));
    }
    case 3: {
      // delete a line
      lines.splice(int(r, lines.length), 1);
      return lines.join('\n');
    }
    case 4: {
      // repeat a line
      const i = int(r, lines.length);
      lines.splice(i, 0, ...Array<string>(1 + int(r, 3)).fill(lines[i]!));
      return lines.join('\n');
    }
    case 5: {
      // swap two lines
      const i = int(r, lines.length);
      const j = int(r, lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 6: {
      // splice with another seed
      const o = other.split('\n');
      const a = int(r, lines.length + 1);
      const b = int(r, o.length + 1);
      return [...lines.slice(0, a), ...o.slice(b)].join('\n');
    }
    case 7:
      return text.replace(/\n/g, pick(r, ['\r\n', '\r', '\n\n', ' \n', '\t\n']));
    case 8: {
      // replace a word
      const words = text.split(/(\s+)/);
      const i = int(r, words.length);
      words[i] = pick(r, INTERESTING);
      return words.join('');
    }
    default:
      return text.slice(0, int(r, text.length + 1));
  }
}

/** iptables-save: chains, jumps, gotos, targets and matches in places the kernel may refuse. */
export function mutateIptables(r: Rand, text: string): string {
  const lines = text.split('\n');
  const chains = [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
  const chain = (): string => (chains.length > 0 && r() < 0.8 ? pick(r, chains) : `FZ${int(r, 4)}`);
  const target = (): string =>
    pick(r, [
      `-j ${chain()}`,
      `-g ${chain()}`,
      '-j RETURN',
      '-j ACCEPT',
      '-j DROP',
      '-j REJECT',
      '-j DNAT --to-destination 10.0.0.1:80',
      '-j SNAT --to-source 10.0.0.2',
      '-j MASQUERADE',
      '-j REDIRECT --to-ports 8080',
      '-j MARK --set-xmark 0x4000/0x4000',
      '-j NOTRACK',
      '-j CT --notrack',
      '-j LOG --log-prefix x',
      '-j TPROXY --on-port 1',
      '-j NFLOG',
    ]);
  const match = (): string =>
    pick(r, [
      '',
      '-p tcp',
      '-p udp -m udp --dport 53',
      '-s 10.0.0.0/8',
      '! -d 10.96.0.1/32',
      '-i eth0',
      '-o eth0',
      '-m mark --mark 0x4000/0x4000',
      '-m conntrack --ctstate NEW',
      '-m statistic --mode random --probability 0.5',
      '-m set --match-set S src',
      '-m rpfilter --invert',
      '-m addrtype --dst-type LOCAL --limit-iface-in',
      '-m owner --uid-owner 0',
      '-m comment --comment "x y"',
      '-m physdev --physdev-is-bridged',
      '-d 2001:db8::1/128',
      '-m multiport --dports 1:65535',
      '-m recent --rcheck --seconds 1',
    ]);
  const at = int(r, lines.length + 1);
  switch (int(r, 6)) {
    case 0:
      lines.splice(at, 0, `-A ${chain()} ${match()} ${target()}`.replace(/ +/g, ' '));
      break;
    case 1:
      lines.splice(at, 0, `:${chain()} - [0:0]`);
      break;
    case 2: {
      // a loop: two rules that jump or go to each other
      const a = chain();
      const b = chain();
      lines.splice(
        at,
        0,
        `-A ${a} ${pick(r, ['-j', '-g'])} ${b}`,
        `-A ${b} ${pick(r, ['-j', '-g'])} ${a}`,
      );
      break;
    }
    case 3: {
      // deep nesting: a chain of chains
      const n = 1 + int(r, 40);
      const decl: string[] = [];
      const rules: string[] = [];
      for (let i = 0; i < n; i++) {
        decl.push(`:FZD${i} - [0:0]`);
        rules.push(
          `-A ${i === 0 ? pick(r, ['INPUT', 'PREROUTING', 'OUTPUT', 'FORWARD']) : `FZD${i - 1}`} -j FZD${i}`,
        );
      }
      const first = Math.max(
        0,
        lines.findIndex((l) => l.startsWith('-A')),
      );
      lines.splice(first, 0, ...decl, ...rules);
      break;
    }
    case 4: {
      // change a rule's target
      const idx = lines.findIndex((l, i) => i >= at && l.startsWith('-A'));
      if (idx >= 0) lines[idx] = lines[idx]!.replace(/ -[jg] .*$/, ` ${target()}`);
      break;
    }
    default:
      lines.splice(
        at,
        0,
        pick(r, ['*filter', '*nat', '*mangle', '*raw', '*security', 'COMMIT', '*bogus']),
      );
  }
  return lines.join('\n');
}

/** Cluster YAML: keys, scalars, nesting, anchors and documents where a manifest has others. */
export function mutateYaml(r: Rand, text: string): string {
  const lines = text.split('\n');
  const at = int(r, lines.length + 1);
  const indent = ' '.repeat(int(r, 4) * 2);
  switch (int(r, 7)) {
    case 0:
      lines.splice(
        at,
        0,
        `${indent}${pick(r, ['selector', 'selecter', 'ports', 'clusterIP', 'podIP', 'nodeName', 'spec', 'metadata', 'name', 'namespace', 'hostNetwork', 'podCIDR', 'type'])}: ${pick(r, INTERESTING)}`,
      );
      break;
    case 1: {
      // replace a scalar value
      const idx = lines.findIndex((l, i) => i >= at && /:\s+\S/.test(l));
      if (idx >= 0) lines[idx] = lines[idx]!.replace(/:\s+.*$/, `: ${pick(r, INTERESTING)}`);
      break;
    }
    case 2: {
      const n = 1 + int(r, 600);
      lines.splice(at, 0, `${indent}deep: ${'['.repeat(n)}${']'.repeat(n)}`);
      break;
    }
    case 3:
      lines.splice(at, 0, `${indent}? [a, b]`, `${indent}: c`);
      break;
    case 4:
      lines.splice(at, 0, `${indent}x: &a [*a]`, `${indent}y: *a`, `${indent}<<: *a`);
      break;
    case 5:
      lines.splice(at, 0, pick(r, ['---', '...', '--- !!map', '%YAML 1.2', '- a', '[', '{']));
      break;
    default: {
      // a document with one object's fields cut or duplicated
      const from = int(r, lines.length);
      lines.splice(at, 0, ...lines.slice(from, from + int(r, 20)));
    }
  }
  return lines.join('\n');
}

/** ipset save: options and members against each set type's rules. */
export function mutateIpset(r: Rand, text: string): string {
  const lines = text.split('\n');
  const names = [...text.matchAll(/^create (\S+)/gm)].map((m) => m[1]!);
  const name = (): string => (names.length > 0 && r() < 0.8 ? pick(r, names) : 'FZ');
  const at = int(r, lines.length + 1);
  switch (int(r, 4)) {
    case 0:
      lines.splice(
        at,
        0,
        `create ${name()} ${pick(r, ['hash:ip', 'hash:net', 'hash:ip,port', 'hash:net,port', 'hash:ip,port,ip', 'hash:ip,port,net', 'bitmap:ip', 'bitmap:port', 'list:set', 'hash:mac'])} ${pick(r, ['', 'range 10.0.0.0/24', 'range 0-1023', 'range 0-70000', 'family inet', 'family inet6', 'timeout 0', 'counters', 'comment', 'size 8', 'netmask 24', 'maxelem x', 'frob'])}`,
      );
      break;
    case 1:
      lines.splice(
        at,
        0,
        `add ${name()} ${pick(r, ['10.0.0.1', '10.0.0.0/24', '10.0.1.1', '10.0.0.1,tcp:80', '10.0.0.1,tcp:80-70000', '10.0.0.1,udp:0-65535', '22', '80-81', '99999', 'S', '10.0.0.1-10.0.255.255', '10.0.0.1,icmp:8/0', '::1'])} ${pick(r, ['', 'nomatch', 'timeout 5', 'comment x', 'packets 1 bytes 2', 'before S', 'frob'])}`,
      );
      break;
    case 2: {
      const idx = lines.findIndex((l, i) => i >= at && l.startsWith('create'));
      if (idx >= 0) lines[idx] = `${lines[idx]} ${pick(r, INTERESTING)}`;
      break;
    }
    default:
      lines.splice(at, 1);
  }
  return lines.join('\n');
}

/** ip route / ip rule text and JSON. */
export function mutateRoutes(r: Rand, text: string): string {
  const lines = text.split('\n');
  const at = int(r, lines.length + 1);
  switch (int(r, 4)) {
    case 0:
      lines.splice(
        at,
        0,
        `${pick(r, ['', 'local ', 'blackhole ', 'unreachable ', 'throw ', 'multicast ', 'nexthop '])}${pick(r, ['default', '10.0.0.0/8', '10.0.0.1', '2001:db8::/64', '0.0.0.0/0', '300.1.1.1', 'fe80::/64'])} ${pick(r, ['', 'via 10.0.0.1', 'via inet6 fe80::1', 'dev eth0', 'table 100', 'table local', 'proto kernel', 'scope link', 'src 10.0.0.2', 'metric 100', 'onlink', 'frob 1', 'mtu 1500'])}`,
      );
      break;
    case 1:
      lines.splice(
        at,
        0,
        `${int(r, 40000)}:\t${pick(r, ['from all lookup main', 'not from all to 10.0.0.0/8 lookup 100', 'from 10.0.0.0/8 iif eth0 prohibit', 'fwmark 0x10/0xff lookup 5', 'from all goto 100', 'from ::1 lookup main', 'from all uidrange 1-2 lookup main'])}`,
      );
      break;
    case 2:
      lines.splice(
        at,
        0,
        pick(r, [
          '[{"dst":"10.1.0.0/16","dev":"eth0","flags":[]}]',
          '[{"priority":5,"src":"all","table":"main"}]',
          '[{"dst":"::/0"}]',
          '[1,2]',
          '{"dst":"x"}',
          '[{"nexthops":[]}]',
          '[',
        ]),
      );
      break;
    default:
      lines.splice(at, 1);
  }
  return lines.join('\n');
}

/** A command line: drop, repeat, swap or replace an argument, or add a flag. */
export function mutateArgv(r: Rand, argv: readonly string[]): string[] {
  const a = [...argv];
  const i = int(r, a.length);
  switch (int(r, 5)) {
    case 0:
      a.splice(i, 1);
      break;
    case 1:
      a.splice(i, 0, a[i]!);
      break;
    case 2:
      a[i] = pick(r, INTERESTING);
      break;
    case 3:
      a.splice(
        i,
        0,
        pick(r, [
          '--all-paths',
          '--reply',
          '-o',
          'json',
          'yaml',
          '--seed',
          '99999999999999999999',
          '--sysctl',
          'x=2',
          '--local-ip',
          '10.0.0.1/99@',
          '--proto',
          'icmp',
          '--tcp-flags',
          'SAFRPUX',
          '--dport',
          '65536',
          '--sport',
          '-1',
          '--help',
          '--version',
          '-n',
          '--port',
          '--explain',
          '--strict',
        ]),
      );
      break;
    default: {
      const j = int(r, a.length);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
  }
  return a;
}
