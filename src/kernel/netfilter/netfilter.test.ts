import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../iptables/parse.js';
import { parseNft } from '../../iptables/nft/parse.js';
import { packetLength } from '../../wire/index.js';
import type { Ipv4Packet } from '../../wire/packet.js';
import { SeededChooser, type Chooser } from '../random.js';
import {
  compileRuleset,
  MAX_WALK_RULES,
  HOOK_STAGES,
  Netfilter,
  newSkb,
  type HookContext,
  type HookOutcome,
  type Ruleset,
  type Skb,
} from './index.js';
import { icmpEcho, tcp, TestEnv, udp } from './testing/env.js';

function ruleset(text: string): Ruleset {
  const p = parseIptablesSave(text, 't.save');
  const errors = p.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
  return p.ruleset;
}

const LOCAL = '192.168.0.2';

/** An IP-in-IP packet carrying a TCP SYN to port 80 (ports exist only inside). */
function ipip(src: string, dst: string): Ipv4Packet {
  const inner = tcp('10.244.1.5', 40000, '10.244.2.7', 80);
  return {
    ip: { src, dst, ttl: 63, id: 1, df: true, tos: 0 },
    l4: { kind: 'ipip', inner },
    payloadLength: packetLength(inner),
  };
}
const always = (v: boolean): Chooser => ({ chance: () => v, integer: (a) => a });

/** PREROUTING then INPUT (the packet is addressed to the host). */
function toInput(
  nf: Netfilter,
  p: Ipv4Packet,
  ctx: HookContext = { inIface: 'eth0' },
  chooser: Chooser = new SeededChooser(1),
): { pre: HookOutcome; input?: HookOutcome } {
  const pre = nf.run('PREROUTING', newSkb(p), ctx, chooser);
  if (pre.verdict !== 'ACCEPT') return { pre };
  return { pre, input: nf.run('INPUT', pre.skb, ctx, chooser) };
}

/** A dump whose filter INPUT accepts only what `rule` matches (policy DROP). */
function onlyRule(rule: string, extra = ''): string {
  return `*filter\n:INPUT DROP [0:0]\n-A INPUT ${rule} -j ACCEPT\nCOMMIT\n${extra}`;
}

describe('matches (table-driven: rule in filter INPUT, policy DROP)', () => {
  const cases: {
    name: string;
    rule: string;
    pkt: Ipv4Packet;
    ctx?: HookContext;
    extra?: string;
    match: boolean;
  }[] = [
    { name: '-p tcp on tcp', rule: '-p tcp', pkt: tcp('10.0.0.1', 1, LOCAL, 80), match: true },
    { name: '-p tcp on udp', rule: '-p tcp', pkt: udp('10.0.0.1', 1, LOCAL, 80), match: false },
    { name: '! -p tcp on udp', rule: '! -p tcp', pkt: udp('10.0.0.1', 1, LOCAL, 80), match: true },
    { name: '-p all', rule: '-p all', pkt: udp('10.0.0.1', 1, LOCAL, 80), match: true },
    // IP-in-IP is protocol 4, /etc/protocols' `ipencap`; `ipip` there is 94 (a different protocol).
    { name: '-p 4 on ipip', rule: '-p 4', pkt: ipip('10.0.0.1', LOCAL), match: true },
    { name: '-p ipencap on ipip', rule: '-p ipencap', pkt: ipip('10.0.0.1', LOCAL), match: true },
    { name: '-p ipip (94) on ipip', rule: '-p ipip', pkt: ipip('10.0.0.1', LOCAL), match: false },
    { name: '-p tcp on ipip', rule: '-p tcp', pkt: ipip('10.0.0.1', LOCAL), match: false },
    { name: '! -p tcp on ipip', rule: '! -p tcp', pkt: ipip('10.0.0.1', LOCAL), match: true },
    {
      name: '-p 4 on the tcp packet inside is not ipip',
      rule: '-p 4',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    {
      name: '-s in prefix',
      rule: '-s 10.0.0.0/8',
      pkt: tcp('10.9.9.9', 1, LOCAL, 80),
      match: true,
    },
    {
      name: '-s outside prefix',
      rule: '-s 10.0.0.0/8',
      pkt: tcp('11.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    {
      name: '! -s outside prefix',
      rule: '! -s 10.0.0.0/8',
      pkt: tcp('11.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    { name: '-d host', rule: `-d ${LOCAL}/32`, pkt: tcp('10.0.0.1', 1, LOCAL, 80), match: true },
    {
      name: '! -d host',
      rule: `! -d ${LOCAL}/32`,
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    { name: '-i exact', rule: '-i eth0', pkt: tcp('10.0.0.1', 1, LOCAL, 80), match: true },
    { name: '-i other', rule: '-i eth1', pkt: tcp('10.0.0.1', 1, LOCAL, 80), match: false },
    { name: '-i wildcard', rule: '-i eth+', pkt: tcp('10.0.0.1', 1, LOCAL, 80), match: true },
    { name: '! -i wildcard', rule: '! -i cali+', pkt: tcp('10.0.0.1', 1, LOCAL, 80), match: true },
    {
      name: '-i without a device',
      rule: '-i eth0',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      ctx: {},
      match: false,
    },
    {
      name: '--dport in range',
      rule: '-p tcp -m tcp --dport 8000:8080',
      pkt: tcp('10.0.0.1', 1, LOCAL, 8080),
      match: true,
    },
    {
      name: '--dport outside range',
      rule: '-p tcp -m tcp --dport 8000:8080',
      pkt: tcp('10.0.0.1', 1, LOCAL, 8081),
      match: false,
    },
    {
      name: '! --dport',
      rule: '-p tcp -m tcp ! --dport 22',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: '--sport',
      rule: '-p udp -m udp --sport 53',
      pkt: udp('10.0.0.1', 53, LOCAL, 4000),
      match: true,
    },
    {
      name: '--syn on SYN',
      rule: '-p tcp -m tcp --syn',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: '--syn on ACK',
      rule: '-p tcp -m tcp --syn',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80, { ack: true }),
      match: false,
    },
    {
      name: '--tcp-flags ALL NONE',
      rule: '-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80, {}),
      match: true,
    },
    {
      name: 'multiport dports hit range',
      rule: '-p tcp -m multiport --dports 80,443,9000:9100',
      pkt: tcp('10.0.0.1', 1, LOCAL, 9050),
      match: true,
    },
    {
      name: 'multiport dports miss',
      rule: '-p tcp -m multiport --dports 80,443',
      pkt: tcp('10.0.0.1', 1, LOCAL, 8443),
      match: false,
    },
    {
      name: '! multiport',
      rule: '-p tcp -m multiport ! --dports 80,443',
      pkt: tcp('10.0.0.1', 1, LOCAL, 8443),
      match: true,
    },
    {
      name: 'multiport ports either side',
      rule: '-p tcp -m multiport --ports 5000',
      pkt: tcp('10.0.0.1', 5000, LOCAL, 80),
      match: true,
    },
    {
      name: 'icmp echo-request',
      rule: '-p icmp -m icmp --icmp-type 8',
      pkt: icmpEcho('10.0.0.1', LOCAL, 7),
      match: true,
    },
    {
      name: 'icmp other type',
      rule: '-p icmp -m icmp --icmp-type 0',
      pkt: icmpEcho('10.0.0.1', LOCAL, 7),
      match: false,
    },
    {
      name: 'comment',
      rule: '-m comment --comment "hello world"',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'ctstate NEW on SYN',
      rule: '-m conntrack --ctstate NEW',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'ctstate ESTABLISHED on SYN',
      rule: '-m conntrack --ctstate RELATED,ESTABLISHED',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    {
      name: 'ctstate INVALID on SYN+FIN',
      rule: '-m conntrack --ctstate INVALID',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80, { syn: true, fin: true }),
      match: true,
    },
    {
      name: 'ctstate NEW on mid-stream ACK (tcp_loose=1)',
      rule: '-m conntrack --ctstate NEW',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80, { ack: true }),
      match: true,
    },
    {
      name: '! ctstate INVALID',
      rule: '-m conntrack ! --ctstate INVALID',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'state NEW',
      rule: '-m state --state NEW',
      pkt: udp('10.0.0.1', 1, LOCAL, 53),
      match: true,
    },
    {
      name: 'ctstate UNTRACKED after NOTRACK',
      rule: '-m conntrack --ctstate UNTRACKED',
      pkt: udp('10.0.0.1', 1, LOCAL, 53),
      extra: '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p udp -j NOTRACK\nCOMMIT\n',
      match: true,
    },
    {
      name: 'ctstate DNAT after DNAT',
      rule: '-m conntrack --ctstate DNAT --ctorigdst 10.96.0.10/32 --ctorigdstport 53',
      pkt: udp('10.0.0.1', 1, '10.96.0.10', 53),
      extra: `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.10/32 -p udp -j DNAT --to-destination ${LOCAL}:5353\nCOMMIT\n`,
      match: true,
    },
    {
      name: 'ctorigdst mismatch',
      rule: '-m conntrack --ctorigdst 10.96.0.11/32',
      pkt: udp('10.0.0.1', 1, '10.96.0.10', 53),
      extra: `*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.96.0.10/32 -p udp -j DNAT --to-destination ${LOCAL}:5353\nCOMMIT\n`,
      match: false,
    },
    {
      name: 'mark set in mangle',
      rule: '-m mark --mark 0x4000/0x4000',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      extra:
        '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x4001/0xffffffff\nCOMMIT\n',
      match: true,
    },
    {
      name: 'mark not set',
      rule: '-m mark --mark 0x4000/0x4000',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    {
      name: '! mark not set',
      rule: '-m mark ! --mark 0x4000/0x4000',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'connmark set in mangle',
      rule: '-m connmark --mark 0x7',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      extra:
        '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CONNMARK --set-xmark 0x7/0xffffffff\nCOMMIT\n',
      match: true,
    },
    {
      name: 'addrtype dst LOCAL',
      rule: '-m addrtype --dst-type LOCAL',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'addrtype src LOCAL (remote source)',
      rule: '-m addrtype --src-type LOCAL',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    {
      name: '! addrtype src LOCAL',
      rule: '-m addrtype ! --src-type LOCAL',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'addrtype limit-iface-in, same device',
      rule: '-m addrtype --dst-type LOCAL --limit-iface-in',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
    {
      name: 'addrtype limit-iface-in, other device',
      rule: '-m addrtype --dst-type LOCAL --limit-iface-in',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      ctx: { inIface: 'eth1' },
      match: false,
    },
    {
      name: 'physdev without bridge',
      rule: '-m physdev --physdev-in veth1',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: false,
    },
    {
      name: 'physdev bridged in port',
      rule: '-m physdev --physdev-in veth+ --physdev-is-in',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      ctx: { inIface: 'eth0', bridge: { physIn: 'veth12' } },
      match: true,
    },
    {
      name: '! physdev-is-bridged without bridge',
      rule: '-m physdev ! --physdev-is-bridged',
      pkt: tcp('10.0.0.1', 1, LOCAL, 80),
      match: true,
    },
  ];
  it.each(cases)('$name', ({ rule, pkt, ctx, extra, match }) => {
    const nf = new Netfilter(ruleset(onlyRule(rule, extra)), new TestEnv({ [LOCAL]: 'eth0' }));
    const r = toInput(nf, pkt, ctx ?? { inIface: 'eth0' });
    expect(r.input?.verdict).toBe(match ? 'ACCEPT' : 'DROP');
    expect(r.input?.decidedBy?.kind).toBe(match ? 'rule' : 'policy');
  });
});

describe('statistic', () => {
  it('random: the effective probability is round(p * 2^31) / 2^31 and goes to the chooser with the rule named', () => {
    const nf = new Netfilter(
      ruleset(onlyRule('-m statistic --mode random --probability 0.3333333333')),
      new TestEnv({ [LOCAL]: 'eth0' }),
    );
    const seen: { p: number; label: string }[] = [];
    const ch: Chooser = {
      chance: (p, label) => (seen.push({ p, label }), true),
      integer: (a) => a,
    };
    expect(toInput(nf, tcp('10.0.0.1', 1, LOCAL, 80), undefined, ch).input?.verdict).toBe('ACCEPT');
    expect(seen).toEqual([
      { p: Math.round(0.3333333333 * 2 ** 31) / 2 ** 31, label: 'filter/INPUT rule 1 (line 3)' },
    ]);
    expect(
      toInput(nf, tcp('10.0.0.1', 2, LOCAL, 80), undefined, always(false)).input?.verdict,
    ).toBe('DROP');
  });
  it('nth: every 3rd packet starting at --packet', () => {
    const nf = new Netfilter(
      ruleset(onlyRule('-m statistic --mode nth --every 3 --packet 1')),
      new TestEnv({ [LOCAL]: 'eth0' }),
    );
    const verdicts = [0, 1, 2, 3, 4, 5, 6].map(
      (i) => toInput(nf, udp('10.0.0.1', 1000 + i, LOCAL, 53)).input?.verdict,
    );
    expect(verdicts).toEqual(['DROP', 'ACCEPT', 'DROP', 'DROP', 'ACCEPT', 'DROP', 'DROP']);
  });
});

/** Port 22 puts the source on the SSH list; port 80 is let in for sources seen there in the last minute. */
const RECENT_SSH = [
  '*filter',
  ':INPUT DROP [0:0]',
  '-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name SSH --rsource -j ACCEPT',
  '-A INPUT -p tcp -m tcp --dport 80 -m recent --rcheck --seconds 60 --name SSH --rsource -j ACCEPT',
  'COMMIT',
  '',
].join('\n');

describe('recent', () => {
  it('--set records the source; --rcheck --seconds sees it until it is too old', () => {
    const text = RECENT_SSH;
    const env = new TestEnv({ [LOCAL]: 'eth0' });
    const nf = new Netfilter(ruleset(text), env);
    expect(toInput(nf, tcp('10.0.0.1', 1, LOCAL, 80)).input?.verdict).toBe('DROP');
    expect(toInput(nf, tcp('10.0.0.1', 2, LOCAL, 22)).input?.verdict).toBe('ACCEPT');
    env.time = 30;
    expect(toInput(nf, tcp('10.0.0.1', 3, LOCAL, 80)).input?.verdict).toBe('ACCEPT');
    expect(toInput(nf, tcp('10.0.0.2', 3, LOCAL, 80)).input?.verdict).toBe('DROP');
    env.time = 61;
    expect(toInput(nf, tcp('10.0.0.1', 4, LOCAL, 80)).input?.verdict).toBe('DROP');
  });
});

describe('targets and chain traversal', () => {
  const env = () => new TestEnv({ [LOCAL]: 'eth0' });
  it('jump, RETURN, fall off a user chain, then the built-in policy', () => {
    const text = [
      '*filter',
      ':INPUT DROP [0:0]',
      ':A - [0:0]',
      ':B - [0:0]',
      '-A INPUT -j A',
      '-A INPUT -p udp -j ACCEPT',
      '-A A -j B',
      '-A A -p tcp -j RETURN',
      '-A A -j DROP',
      '-A B -p icmp -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n');
    const nf = new Netfilter(ruleset(text), env());
    const t = toInput(nf, tcp('10.0.0.1', 1, LOCAL, 80)).input!;
    expect(t.verdict).toBe('DROP');
    expect(t.decidedBy).toMatchObject({ kind: 'policy', chain: 'INPUT', policy: 'DROP' });
    expect(t.hits.map((h) => `${h.chain}#${h.index}`)).toEqual(['INPUT#1', 'A#1', 'A#2']);
    const u = toInput(nf, udp('10.0.0.1', 1, LOCAL, 53)).input!;
    expect(u.decidedBy).toMatchObject({ kind: 'rule', chain: 'A', index: 3, line: 9 });
    expect(toInput(nf, icmpEcho('10.0.0.1', LOCAL, 1)).input?.decidedBy).toMatchObject({
      kind: 'rule',
      chain: 'B',
    });
  });
  it('goto does not return to the chain that jumped', () => {
    const text = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':G - [0:0]',
      ':X - [0:0]',
      '-A INPUT -j X',
      '-A INPUT -j DROP',
      '-A X -g G',
      '-A X -j ACCEPT',
      '-A G -p udp -j RETURN',
      'COMMIT',
      '',
    ].join('\n');
    const nf = new Netfilter(ruleset(text), env());
    // G falls off (or RETURNs) to INPUT (X's caller), skipping X's ACCEPT: INPUT's DROP decides.
    const r = toInput(nf, udp('10.0.0.1', 1, LOCAL, 53)).input!;
    expect(r.decidedBy).toMatchObject({ kind: 'rule', chain: 'INPUT', index: 2 });
  });
  it('RETURN in a built-in chain applies its policy', () => {
    const nf = new Netfilter(
      ruleset('*filter\n:INPUT DROP [0:0]\n-A INPUT -j RETURN\n-A INPUT -j ACCEPT\nCOMMIT\n'),
      env(),
    );
    expect(toInput(nf, udp('10.0.0.1', 1, LOCAL, 53)).input?.decidedBy).toMatchObject({
      kind: 'policy',
      policy: 'DROP',
    });
  });
  it('a rule without a target only counts; LOG continues', () => {
    const nf = new Netfilter(
      ruleset(
        '*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp\n-A INPUT -j LOG --log-prefix "x: "\n-A INPUT -j ACCEPT\nCOMMIT\n',
      ),
      env(),
    );
    const r = toInput(nf, udp('10.0.0.1', 1, LOCAL, 53)).input!;
    expect(r.verdict).toBe('ACCEPT');
    expect(r.hits.map((h) => h.index)).toEqual([1, 2, 3]);
    expect(r.steps.some((s) => s.summary.includes('LOG'))).toBe(true);
  });
  it('MARK --set-xmark computes (mark & ~mask) ^ value; --or/--xor/--and spellings too', () => {
    const text = [
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      '-A PREROUTING -j MARK --set-xmark 0xff/0xffffffff',
      '-A PREROUTING -j MARK --and-mark 0xf0',
      '-A PREROUTING -j MARK --or-mark 0x4000',
      '-A PREROUTING -j MARK --xor-mark 0x10',
      'COMMIT',
      '',
    ].join('\n');
    const nf = new Netfilter(ruleset(text), env());
    const pre = nf.run(
      'PREROUTING',
      newSkb(udp('10.0.0.1', 1, LOCAL, 53)),
      { inIface: 'eth0' },
      always(true),
    );
    expect(pre.skb.mark).toBe(((0xff & 0xf0) | 0x4000) ^ 0x10);
  });
  it('CONNMARK --save-mark / --restore-mark move the mark between skb and connection', () => {
    const text = [
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A PREROUTING -p udp -m udp --dport 53 -j MARK --set-xmark 0x7/0xffffffff',
      '-A PREROUTING -p udp -m udp --dport 53 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
      '-A OUTPUT -p udp -m udp --sport 53 -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
      'COMMIT',
      '*filter',
      ':OUTPUT DROP [0:0]',
      '-A OUTPUT -m conntrack --ctstate ESTABLISHED --ctstatus SEEN_REPLY -m connmark --mark 0x7 -m mark --mark 0x7 -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n');
    const nf = new Netfilter(ruleset(text), new TestEnv({ [LOCAL]: 'eth0' }));
    // A query to the host's DNS server: its connection gets mark 7.
    const q = toInput(nf, udp('10.0.0.9', 4001, LOCAL, 53));
    expect(q.input?.verdict).toBe('ACCEPT');
    expect(q.input?.skb.ct.kind === 'tracked' && q.input.skb.ct.entry.mark).toBe(7);
    // The server's answer: OUTPUT restores the mark from the connection.
    const answer = nf.run(
      'OUTPUT',
      newSkb(udp(LOCAL, 53, '10.0.0.9', 4001)),
      { outIface: 'eth0' },
      always(true),
    );
    expect(answer.skb.mark).toBe(7);
    expect(answer.rerouteNeeded).toBe(true);
    expect(answer.decidedBy).toMatchObject({ kind: 'rule', table: 'filter', index: 1 });
  });

  it('REJECT --reject-with tcp-reset records the RST the kernel sends', () => {
    const nf = new Netfilter(
      ruleset(
        '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n',
      ),
      env(),
    );
    const r = toInput(nf, tcp('10.0.0.1', 4321, LOCAL, 80, { syn: true }, 777)).input!;
    expect(r.verdict).toBe('REJECT');
    expect(r.reject?.with).toBe('tcp-reset');
    const rst = r.reject?.response;
    expect(rst?.ip).toMatchObject({ src: LOCAL, dst: '10.0.0.1' });
    expect(rst?.l4).toMatchObject({
      kind: 'tcp',
      sport: 80,
      dport: 4321,
      seq: 0,
      ack: 778,
      flags: { rst: true, ack: true },
    });
  });
  it('REJECT default is icmp-port-unreachable quoting the packet', () => {
    const nf = new Netfilter(
      ruleset('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j REJECT\nCOMMIT\n'),
      env(),
    );
    const r = toInput(nf, udp('10.0.0.1', 4321, LOCAL, 53)).input!;
    expect(r.reject?.with).toBe('icmp-port-unreachable');
    expect(r.reject?.response?.l4).toMatchObject({ kind: 'icmp', type: 3, code: 3 });
  });
  it('an unsupported match reached gives UNSUPPORTED naming its line; not reached when an earlier match fails', () => {
    const text =
      '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m connlimit --connlimit-above 10 -j DROP\nCOMMIT\n';
    const p = parseIptablesSave(text, 't.save');
    const nf = new Netfilter(p.ruleset, env());
    const hit = toInput(nf, tcp('10.0.0.1', 1, LOCAL, 80)).input!;
    expect(hit.verdict).toBe('UNSUPPORTED');
    expect(hit.unsupported?.rule?.line).toBe(3);
    expect(hit.unsupported?.what).toContain('connlimit');
    expect(toInput(nf, udp('10.0.0.1', 1, LOCAL, 53)).input?.verdict).toBe('ACCEPT');
  });
  it.each(['jump', 'goto'] as const)(
    'a %s loop met by the walk stops at its rule budget, not followed forever',
    (kind) => {
      const rs: Ruleset = {
        tables: new Map([
          [
            'filter',
            {
              name: 'filter',
              chains: new Map([
                [
                  'INPUT',
                  {
                    name: 'INPUT',
                    policy: 'ACCEPT',
                    rules: [
                      {
                        matches: [],
                        target: { kind: 'jump', chain: 'L' },
                        text: '-j L',
                        source: { line: 1 },
                      },
                    ],
                    source: {},
                  },
                ],
                [
                  'L',
                  {
                    name: 'L',
                    rules: [
                      {
                        matches: [],
                        target: { kind, chain: 'L' },
                        text: '-j L',
                        source: { line: 2 },
                      },
                    ],
                    source: {},
                  },
                ],
              ]),
            },
          ],
        ]),
      };
      const nf = new Netfilter(rs, env());
      const r = toInput(nf, udp('10.0.0.1', 1, LOCAL, 53)).input!;
      expect(r.verdict).toBe('UNSUPPORTED');
      expect(r.unsupported?.what).toContain('loop');
      expect(r.unsupported?.what).toContain(String(MAX_WALK_RULES));
    },
  );
});

describe('the destination index of long chains changes nothing but speed', () => {
  // 60 rules, most pinned to one -d host; some match any destination, one is inverted, one jumps.
  const rules: { spec: string; matches: (dst: string) => boolean }[] = [];
  for (let i = 0; i < 60; i++) {
    const host = `10.96.0.${i % 7}`;
    if (i % 13 === 5) rules.push({ spec: '-p udp -j LOG', matches: () => true });
    else if (i === 20)
      rules.push({ spec: '! -d 10.96.0.3/32 -j LOG', matches: (d) => d !== '10.96.0.3' });
    else if (i === 33) rules.push({ spec: `-d ${host}/32 -j SUB`, matches: (d) => d === host });
    else rules.push({ spec: `-d ${host}/32 -p udp -j LOG`, matches: (d) => d === host });
  }
  const text = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':BIG - [0:0]',
    ':SUB - [0:0]',
    '-A INPUT -j BIG',
    ...rules.map((r) => `-A BIG ${r.spec}`),
    '-A SUB -j LOG',
    'COMMIT',
    '',
  ].join('\n');
  it.each(['10.96.0.3', '10.96.0.5', '10.96.0.6', '10.1.1.1'])('to %s', (dst) => {
    const nf = new Netfilter(ruleset(text), new TestEnv({ [dst]: 'eth0' }));
    const got = toInput(nf, udp('10.0.0.1', 1, dst, 53)).input!.hits.map(
      (h) => `${h.chain}#${h.index}`,
    );
    const want = ['INPUT#1'];
    rules.forEach((r, i) => {
      if (!r.matches(dst)) return;
      want.push(`BIG#${i + 1}`);
      if (r.spec.endsWith('-j SUB')) want.push('SUB#1');
    });
    expect(got).toEqual(want);
  });
});

describe('hook order (include/uapi/linux/netfilter_ipv4.h priorities)', () => {
  it('registers the kernel functions in priority order', () => {
    const names = (h: keyof typeof HOOK_STAGES) =>
      HOOK_STAGES[h].map((s) =>
        s.kind === 'table' ? s.table : s.kind === 'nat' ? `nat-${s.manip}` : s.kind,
      );
    expect(names('PREROUTING')).toEqual(['raw', 'conntrack', 'mangle', 'nat-DST']);
    expect(names('INPUT')).toEqual(['mangle', 'filter', 'security', 'nat-SRC', 'confirm']);
    expect(names('FORWARD')).toEqual(['mangle', 'filter', 'security']);
    expect(names('OUTPUT')).toEqual([
      'raw',
      'conntrack',
      'mangle',
      'nat-DST',
      'filter',
      'security',
    ]);
    expect(names('POSTROUTING')).toEqual(['mangle', 'nat-SRC', 'confirm']);
    for (const h of Object.keys(HOOK_STAGES) as (keyof typeof HOOK_STAGES)[]) {
      const p = HOOK_STAGES[h].map((s) => s.priority);
      expect([...p].sort((a, b) => a - b)).toEqual(p);
    }
  });
  it('runs the tables a dump has in that order, LOG rules showing each', () => {
    const tables = ['raw', 'mangle', 'nat', 'filter', 'security'];
    const chains: Record<string, string[]> = {
      raw: ['PREROUTING', 'OUTPUT'],
      mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
      nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
      filter: ['INPUT', 'FORWARD', 'OUTPUT'],
      security: ['INPUT', 'FORWARD', 'OUTPUT'],
    };
    const text = tables
      .map((t) =>
        [
          `*${t}`,
          ...chains[t]!.map((c) => `:${c} ACCEPT [0:0]`),
          ...chains[t]!.map((c) => `-A ${c} -j LOG --log-prefix "${t}/${c}"`),
          'COMMIT',
        ].join('\n'),
      )
      .join('\n');
    const nf = new Netfilter(ruleset(text + '\n'), new TestEnv({ [LOCAL]: 'eth0' }));
    const order = (o: HookOutcome) => o.hits.map((h) => `${h.table}/${h.chain}`);
    let skb: Skb = newSkb(tcp('10.0.0.1', 1, '10.0.0.9', 80));
    const pre = nf.run('PREROUTING', skb, { inIface: 'eth0' }, always(true));
    expect(order(pre)).toEqual(['raw/PREROUTING', 'mangle/PREROUTING', 'nat/PREROUTING']);
    skb = pre.skb;
    const fwd = nf.run('FORWARD', skb, { inIface: 'eth0', outIface: 'eth1' }, always(true));
    expect(order(fwd)).toEqual(['mangle/FORWARD', 'filter/FORWARD', 'security/FORWARD']);
    const post = nf.run('POSTROUTING', fwd.skb, { outIface: 'eth1' }, always(true));
    expect(order(post)).toEqual(['mangle/POSTROUTING', 'nat/POSTROUTING']);
    const out = nf.run(
      'OUTPUT',
      newSkb(tcp(LOCAL, 5, '10.0.0.9', 80)),
      { outIface: 'eth0' },
      always(true),
    );
    expect(order(out)).toEqual([
      'raw/OUTPUT',
      'mangle/OUTPUT',
      'nat/OUTPUT',
      'filter/OUTPUT',
      'security/OUTPUT',
    ]);
    const inp = nf.run(
      'INPUT',
      nf.run('PREROUTING', newSkb(udp('10.0.0.1', 9, LOCAL, 53)), { inIface: 'eth0' }, always(true))
        .skb,
      { inIface: 'eth0' },
      always(true),
    );
    expect(order(inp)).toEqual(['mangle/INPUT', 'filter/INPUT', 'security/INPUT', 'nat/INPUT']);
  });
  it('OUTPUT asks for a re-route when mangle changes the mark or nat the destination', () => {
    const text =
      '*mangle\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n';
    const nf = new Netfilter(ruleset(text), new TestEnv({ [LOCAL]: 'eth0' }));
    expect(
      nf.run('OUTPUT', newSkb(udp(LOCAL, 1, '10.0.0.9', 53)), { outIface: 'eth0' }, always(true))
        .rerouteNeeded,
    ).toBe(true);
    expect(
      nf.run('OUTPUT', newSkb(tcp(LOCAL, 1, '10.0.0.9', 53)), { outIface: 'eth0' }, always(true))
        .rerouteNeeded,
    ).toBe(false);
  });
});

describe('OUTPUT re-routes after a table that may change what routing read', () => {
  const nftRoute = (type: string, rule: string) =>
    `table ip t {\n  chain out {\n    type ${type} hook output priority mangle; policy accept;\n    ${rule}\n  }\n}\n`;
  const mangle = (rule: string) => `*mangle\n:OUTPUT ACCEPT [0:0]\n${rule}\nCOMMIT\n`;
  it.each([
    ['mangle sets the mark', mangle('-A OUTPUT -j MARK --set-xmark 0x1/0xffffffff'), '', true],
    [
      'mangle sets the mark it had',
      mangle('-A OUTPUT -j MARK --set-xmark 0x0/0xffffffff'),
      '',
      false,
    ],
    ['mangle changes nothing', mangle('-A OUTPUT -j ACCEPT'), '', false],
    ['an nft route chain sets the mark', '', nftRoute('route', 'meta mark set 0x1'), true],
    ['an nft route chain changes nothing', '', nftRoute('route', 'counter'), false],
    ['an nft filter chain sets the mark', '', nftRoute('filter', 'meta mark set 0x1'), false],
  ])('%s: %s', (_what, ipt, nft, reroute) => {
    const parsed = parseNft(nft);
    expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const rs = compileRuleset(
      ruleset(ipt || '*filter\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'),
      parsed.ruleset,
    );
    const nf = new Netfilter(rs, new TestEnv({ [LOCAL]: 'eth0' }));
    const out = nf.run(
      'OUTPUT',
      newSkb(udp(LOCAL, 1, '10.0.0.9', 53)),
      { outIface: 'eth0' },
      always(true),
    );
    expect(out.verdict).toBe('ACCEPT');
    expect(out.rerouteNeeded).toBe(reroute);
  });
});

describe('reset: a ruleset put back to cold in place answers as a new one', () => {
  const cases: { name: string; rules: string; pkts: Ipv4Packet[]; writes: boolean }[] = [
    {
      name: 'nth counter',
      writes: true,
      rules: onlyRule('-m statistic --mode nth --every 3 --packet 1'),
      pkts: [0, 1, 2, 3].map((i) => udp('10.0.0.1', 1000 + i, LOCAL, 53)),
    },
    {
      name: 'recent list',
      writes: true,
      rules: RECENT_SSH,
      pkts: [
        tcp('10.0.0.1', 1, LOCAL, 80),
        tcp('10.0.0.1', 2, LOCAL, 22),
        tcp('10.0.0.1', 3, LOCAL, 80),
      ],
    },
    {
      name: 'conntrack state',
      writes: false,
      rules: onlyRule('-m conntrack --ctstate NEW'),
      pkts: [tcp('10.0.0.1', 1, LOCAL, 80), tcp('10.0.0.1', 1, LOCAL, 80)],
    },
  ];
  it.each(cases)('$name', ({ rules, pkts, writes }) => {
    const env = new TestEnv({ [LOCAL]: 'eth0' });
    const answers = (nf: Netfilter) =>
      pkts.map((p) => {
        const o = toInput(nf, p);
        return [o.pre.verdict, o.input?.verdict, nf.conntrack.size];
      });
    const used = new Netfilter(ruleset(rules), env);
    const first = answers(used);
    // What a new one answers, and the used one once reset (twice, as a kept node is put back after every question).
    expect(answers(new Netfilter(ruleset(rules), env))).toEqual(first);
    const state = used.ruleState;
    used.reset();
    expect(used.conntrack.size).toBe(0);
    expect(answers(used)).toEqual(first);
    used.reset();
    expect(answers(used)).toEqual(first);
    // Written state is made anew; a state never written to is kept.
    if (writes) expect(used.ruleState).not.toBe(state);
    else expect(used.ruleState).toBe(state);
    const clean = new Netfilter(ruleset('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'), env);
    const kept = clean.ruleState;
    toInput(clean, tcp('10.0.0.1', 1, LOCAL, 80));
    clean.reset();
    expect(clean.ruleState).toBe(kept);
  });
});
