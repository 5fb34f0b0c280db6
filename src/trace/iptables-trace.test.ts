import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/parse.js';
import { firstPacket, replyTo, SingleHostEnv, traceIptables } from './iptables-trace.js';

describe('SingleHostEnv: the local table of a host known by its addresses', () => {
  const env = new SingleHostEnv([
    { ip: '192.168.0.2', prefix: 24, iface: 'eth0' },
    { ip: '10.9.9.9' },
  ]);
  it.each([
    ['192.168.0.2', undefined, 'LOCAL'],
    ['192.168.0.2', 'eth0', 'LOCAL'],
    ['192.168.0.2', 'eth1', 'UNICAST'],
    ['10.9.9.9', 'eth7', 'LOCAL'],
    ['127.0.0.53', undefined, 'LOCAL'],
    ['127.0.0.1', 'eth0', 'UNICAST'],
    ['192.168.0.255', undefined, 'BROADCAST'],
    ['255.255.255.255', undefined, 'BROADCAST'],
    ['0.0.0.0', undefined, 'BROADCAST'],
    ['224.0.0.251', undefined, 'MULTICAST'],
    ['8.8.8.8', undefined, 'UNICAST'],
  ] as const)('%s (dev %s) is %s', (ip, dev, type) => {
    expect(env.addrType(ip, dev)).toBe(type);
  });
  it('MASQUERADE: the out device address holding the next hop, else its first, else the first local address', () => {
    const e = new SingleHostEnv([
      { ip: '10.0.0.1', prefix: 24, iface: 'eth1' },
      { ip: '10.0.1.1', prefix: 24, iface: 'eth1' },
      { ip: '192.168.0.2' },
    ]);
    expect(e.masqueradeSource('eth1', '10.0.1.7')).toBe('10.0.1.1');
    expect(e.lastMasqueradeSource).toBe('out-iface address');
    expect(e.masqueradeSource('eth1', '8.8.8.8')).toBe('10.0.0.1');
    expect(e.masqueradeSource('eth9', '8.8.8.8')).toBe('10.0.0.1');
    expect(e.lastMasqueradeSource).toBe('first --local-ip');
    expect(new SingleHostEnv([]).masqueradeSource('eth0', '8.8.8.8')).toBeNull();
  });
});

describe('packets', () => {
  it('answers a SYN with a SYN/ACK acknowledging it, an echo request with an echo reply', () => {
    const r = replyTo(firstPacket('tcp', '1.1.1.1', '2.2.2.2', 1234, 80));
    expect(r.ip).toMatchObject({ src: '2.2.2.2', dst: '1.1.1.1' });
    expect(r.l4).toMatchObject({
      sport: 80,
      dport: 1234,
      ack: 1001,
      flags: { syn: true, ack: true },
    });
    expect(replyTo(firstPacket('icmp', '1.1.1.1', '2.2.2.2', 7, 0)).l4).toMatchObject({
      type: 0,
      id: 7,
    });
  });
});

describe('traceIptables', () => {
  const parsed = parseIptablesSave(
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 3128',
      '-A OUTPUT -d 10.96.0.1/32 -p tcp -j DNAT --to-destination 127.0.0.1:6443',
      '-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -p tcp -j SNAT --to-source 198.51.100.7:20000-20010',
      'COMMIT',
      '',
    ].join('\n'),
    'nat.save',
  );
  it('the test dump parses', () => expect(parsed.diagnostics).toEqual([]));
  const rs = parsed.ruleset;
  const base = { ruleset: rs, proto: 'tcp' as const, allPaths: false, seed: 1 };
  it('REDIRECT in PREROUTING goes to the incoming device address and INPUT', () => {
    const r = traceIptables({
      ...base,
      src: '10.0.0.5',
      dst: '93.184.216.34',
      dport: 8080,
      localIps: [{ ip: '10.0.0.1', prefix: 24, iface: 'eth0' }],
      inIface: 'eth0',
    }).alternatives[0]!;
    expect(r.dnat).toBe('10.0.0.1:3128');
    expect(r.path).toEqual(['PREROUTING', 'INPUT']);
  });
  it('DNAT in OUTPUT to a loopback address loops back to INPUT', () => {
    const r = traceIptables({
      ...base,
      src: '192.168.0.2',
      dst: '10.96.0.1',
      dport: 443,
      localIps: [{ ip: '192.168.0.2' }],
    }).alternatives[0]!;
    expect(r.dnat).toBe('127.0.0.1:6443');
    expect(r.path).toEqual(['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT']);
  });
  it('SNAT with a port range keeps the port only when it is inside the range', () => {
    const r = traceIptables({
      ...base,
      src: '10.244.1.5',
      dst: '8.8.8.8',
      dport: 53,
      localIps: [],
      sport: 20005,
    }).alternatives[0]!;
    expect(r.snat).toEqual({ kind: 'SNAT', to: '198.51.100.7:20005' });
    const moved = traceIptables({
      ...base,
      src: '10.244.1.5',
      dst: '8.8.8.8',
      dport: 53,
      localIps: [],
      sport: 40000,
    }).alternatives[0]!;
    expect(moved.snat?.to).toMatch(/^198\.51\.100\.7:200(0\d|10)$/);
  });
});
