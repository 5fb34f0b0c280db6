import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CommandError, listNetns, run, sweepLeftovers, withTopology } from './index.js';
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
    const before = listNetns();
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
    expect(listNetns().sort()).toEqual(before.sort());
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
