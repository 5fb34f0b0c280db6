/**
 * `trace -o vpp` through the CLI on the Contiv-VPP Services example: the
 * protocols (`--proto udp|icmp`, and a UDP Service port's own protocol), a
 * hostNetwork pod as the source, and the refusals — a pod's own address, a
 * port-less TCP destination, a host-stack destination VPP never sees — as
 * exit 2 with a message, never a stack.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

const FILE = 'examples/contiv-vpp-services.yaml';
const HOST_FILE = 'examples/contiv-vpp-host-endpoint.yaml';
const FILES = {
  [FILE]: readFileSync(FILE, 'utf8'),
  [HOST_FILE]: readFileSync(HOST_FILE, 'utf8'),
};

async function vpp(file: string, ...args: string[]) {
  const io = memoryIo(FILES);
  const code = await main(['trace', '-f', file, '-o', 'vpp', '--sport', '40000', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('trace -o vpp (contiv-vpp)', () => {
  it.each([
    [
      'a UDP Service port is traced over UDP; the port unreachable comes back from the VIP',
      ['--from', 'default/client', '--to', 'svc/default/metrics:8125'],
      ['UDP: 10.1.1.3 -> 10.104.221.92', 'ICMP: 10.104.221.92 -> 10.1.1.3', 'port_unreachable'],
    ],
    [
      '--proto icmp: an echo to a pod and its reply',
      ['--from', 'default/client', '--to', '10.1.1.4', '--proto', 'icmp'],
      ['ICMP echo_request', 'ICMP: 10.1.1.4 -> 10.1.1.3', 'ICMP echo_reply'],
    ],
    [
      'a NodePort',
      ['--from', 'default/client', '--to', '10.20.0.2:30080'],
      ['TCP: 40000 -> 30080', 'TCP: 10.20.0.2 -> 10.1.1.3', 'TCP: 30080 -> 40000'],
    ],
  ])('%s', async (_what, args, expected) => {
    const r = await vpp(FILE, ...args);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    for (const e of expected) expect(r.out).toContain(e);
  });

  it('a hostNetwork pod sends from the host end of the interconnect into tap0', async () => {
    const r = await vpp(HOST_FILE, '--from', 'default/web-host', '--to', '10.1.1.3:80');
    expect(r.code).toBe(0);
    expect(r.out).toContain('TCP: 172.30.1.2 -> 10.1.1.3');
    expect(r.err).toContain('nothing listens on 10.1.1.3:80: RST');
  });

  it.each([
    [
      "a pod's own address",
      ['--from', 'default/web-0', '--to', '10.1.1.5:8080'],
      /own address; the pod's kernel answers it over lo/,
    ],
    [
      'a TCP destination without a port',
      ['--from', 'default/client', '--to', '10.1.1.4'],
      /TCP trace needs a port/,
    ],
  ])('%s: exit 2 with the reason', async (_what, args, message) => {
    const r = await vpp(FILE, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('a hostNetwork pod to an address its host does not route through VPP: exit 2', async () => {
    const r = await vpp(HOST_FILE, '--from', 'default/web-host', '--to', '10.20.0.10:80');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /routes only the pod subnet 10\.1\.0\.0\/16 and the Service network through VPP/,
    );
  });
});
