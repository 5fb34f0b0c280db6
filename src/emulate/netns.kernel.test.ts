import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CommandError,
  listNetns,
  run,
  runClient,
  startServer,
  sweepLeftovers,
  withTopology,
} from './index.js';
import { canEmulate } from './netns.js';

describe.skipIf(!canEmulate(['ip', 'sysctl']))('emulate/netns: the harness itself', () => {
  it('builds namespaces, veths, addresses, routes and sysctls, then deletes them all', async () => {
    let names: string[] = [];
    await withTopology(
      {
        netns: {
          a: {
            sysctls: { 'net.ipv4.ip_forward': 1 },
            routes: [{ to: '10.250.9.0/24', via: '10.250.8.2' }],
          },
          b: {},
        },
        veths: [
          {
            a: { ns: 'a', dev: 'eth0', addrs: ['10.250.8.1/24'] },
            b: { ns: 'b', dev: 'eth0', addrs: ['10.250.8.2/24'] },
          },
        ],
      },
      (lab) => {
        names = [lab.ns('a').name, lab.ns('b').name];
        for (const n of names) expect(n).toMatch(new RegExp(`^pe-${process.pid}-\\d+$`));
        expect(lab.ns('a').sysctl('net.ipv4.ip_forward')).toBe('1');
        expect(lab.ns('b').sysctl('net.ipv4.ip_forward')).toBe('0');
        expect(lab.ns('a').ip('route', 'show', '10.250.9.0/24')).toContain(
          'via 10.250.8.2 dev eth0',
        );
        expect(lab.ns('b').ip('-br', 'addr', 'show', 'dev', 'eth0')).toContain('10.250.8.2/24');
      },
    );
    const left = listNetns();
    for (const n of names) expect(left).not.toContain(n);
  });

  it('deletes the namespaces when the test body throws', async () => {
    let name = '';
    await expect(
      withTopology({ netns: { a: {} } }, (lab) => {
        name = lab.ns('a').name;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(name).not.toBe('');
    expect(listNetns()).not.toContain(name);
  });

  it('deletes what it built when building fails halfway, and names the failing command with its stderr', async () => {
    const err = await withTopology(
      {
        netns: { a: {} },
        veths: [
          { a: { ns: 'a', dev: 'eth0', addrs: ['not-an-address'] }, b: { ns: 'a', dev: 'eth1' } },
        ],
      },
      () => 'unreachable',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).message).toMatch(
      /ip -n pe-\d+-\d+ addr add not-an-address dev eth0/,
    );
    expect((err as CommandError).stderr).not.toBe('');
    // Namespaces of other processes come and go; none of ours may remain.
    expect(listNetns().filter((n) => n.startsWith(`pe-${process.pid}-`))).toEqual([]);
  });

  it('traffic: connected, refused and timeout as the client sees them; the server reports its peer', async () => {
    await withTopology(
      {
        netns: { a: {}, b: {} },
        veths: [
          {
            a: { ns: 'a', dev: 'eth0', addrs: ['10.250.8.1/24'] },
            b: { ns: 'b', dev: 'eth0', addrs: ['10.250.8.2/24'] },
          },
        ],
      },
      async (lab) => {
        const a = lab.ns('a');
        const b = lab.ns('b');
        const tcp = await startServer(lab, b, {
          proto: 'tcp',
          listen: [{ host: '0.0.0.0', port: 7000 }],
        });
        const udp = await startServer(lab, b, {
          proto: 'udp',
          listen: [{ host: '10.250.8.2', port: 7001 }],
        });
        const [connected] = await runClient(lab, a, {
          proto: 'tcp',
          dst: '10.250.8.2',
          port: 7000,
          sport: 45000,
        });
        const [refused] = await runClient(lab, a, { proto: 'tcp', dst: '10.250.8.2', port: 7002 });
        const [reply] = await runClient(lab, a, {
          proto: 'udp',
          dst: '10.250.8.2',
          port: 7001,
          sport: 45001,
        });
        const [udpRefused] = await runClient(lab, a, {
          proto: 'udp',
          dst: '10.250.8.2',
          port: 7003,
          connect: true,
        });
        // Nobody owns 10.250.8.3: ARP fails, nothing answers within the attempt timeout.
        const [timeout] = await runClient(lab, a, {
          proto: 'udp',
          dst: '10.250.8.3',
          port: 7001,
          attemptTimeoutMs: 300,
        });
        expect(connected).toEqual({
          kind: 'connected',
          local: '10.250.8.1:45000',
          remote: '10.250.8.2:7000',
          reply: { peer: '10.250.8.1:45000', local: '10.250.8.2:7000' },
        });
        expect(refused).toEqual({ kind: 'refused', code: 'ECONNREFUSED' });
        expect(reply).toEqual({
          kind: 'reply',
          local: '0.0.0.0:45001',
          from: '10.250.8.2:7001',
          reply: { peer: '10.250.8.1:45001', local: '10.250.8.2:7001' },
        });
        expect(udpRefused).toEqual({ kind: 'refused', code: 'ECONNREFUSED' });
        expect(timeout).toEqual({ kind: 'timeout' });
        expect(await tcp.stop()).toEqual([{ peer: '10.250.8.1:45000', local: '10.250.8.2:7000' }]);
        expect(await udp.stop()).toEqual([{ peer: '10.250.8.1:45001', local: '10.250.8.2:7001' }]);
        expect(a.linkStats('eth0').txPackets).toBeGreaterThan(0);
        expect(b.snmp().get('TcpPassiveOpens')).toBe(1);
      },
    );
  });

  it('bridges: two namespaces on one bridge in a third talk; the bridge learns both MACs', async () => {
    await withTopology(
      {
        netns: { a: {}, b: {}, sw: { bridges: [{ name: 'br0', ports: ['pa', 'pb'] }] } },
        veths: [
          { a: { ns: 'a', dev: 'eth0', addrs: ['10.250.7.1/24'] }, b: { ns: 'sw', dev: 'pa' } },
          { a: { ns: 'b', dev: 'eth0', addrs: ['10.250.7.2/24'] }, b: { ns: 'sw', dev: 'pb' } },
        ],
      },
      async (lab) => {
        const srv = await startServer(lab, lab.ns('b'), {
          proto: 'tcp',
          listen: [{ host: '10.250.7.2', port: 7000 }],
        });
        const [got] = await runClient(lab, lab.ns('a'), {
          proto: 'tcp',
          dst: '10.250.7.2',
          port: 7000,
        });
        expect(got?.kind).toBe('connected');
        expect((await srv.stop())[0]?.peer.split(':')[0]).toBe('10.250.7.1');
        const fdb = lab.ns('sw').exec(['bridge', 'fdb', 'show', 'br', 'br0', 'dynamic']);
        const macA = lab.ns('a').ip('-br', 'link', 'show', 'dev', 'eth0').split(/\s+/)[2];
        expect(fdb).toContain(`${macA} dev pa`);
      },
    );
  });

  it('sweeps only pe-<pid>-<n> namespaces whose process is gone', () => {
    const dead = spawnSync('true').pid;
    const stale = `pe-${dead}-1`;
    const foreign = `pe-${dead}-keep`;
    const live = `pe-${process.pid}-999999`;
    try {
      for (const n of [stale, foreign, live]) run(['ip', 'netns', 'add', n]);
      const swept = sweepLeftovers();
      expect(swept).toContain(stale);
      const left = listNetns();
      expect(left).not.toContain(stale);
      expect(left).toContain(foreign);
      expect(left).toContain(live);
    } finally {
      for (const n of [stale, foreign, live]) spawnSync('ip', ['netns', 'del', n]);
    }
  });
});
