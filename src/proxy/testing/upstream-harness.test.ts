/**
 * The tracer reproduction against upstream's own static data
 * (TestTracePacket: a hand-written ruleset and 7 expected flows), so a flow
 * test failure points at the generator, not at the harness.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../iptables/parse.js';
import { HarnessError, tracePacket } from './upstream-harness.js';

interface TraceFile {
  iptablesSave: string;
  localAddresses: string[];
  flows: {
    name: string;
    sourceIP: string;
    destIP: string;
    destPort: number;
    protocol: string;
    output: string;
    masq: boolean;
  }[];
}

const f = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/kube-proxy/v13x_TestTracePacket.json'), 'utf8'),
) as TraceFile;

// Upstream's static rules write multi-word comments unquoted (its fake parser
// tolerates that; iptables-restore does not): quote them before parsing.
const text = f.iptablesSave.replace(/--comment (kubernetes [a-z -]+?) -j/g, '--comment "$1" -j');

describe('upstream tracePacket reproduction (TestTracePacket)', () => {
  const parsed = parseIptablesSave(text, 'v13x_TestTracePacket.json');
  it('parses the static ruleset', () => {
    expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
  for (const flow of f.flows) {
    it(flow.name, () => {
      const r = tracePacket(
        parsed.ruleset,
        {
          sourceIP: flow.sourceIP,
          protocol: flow.protocol.toLowerCase(),
          destIP: flow.destIP,
          destPort: flow.destPort,
        },
        { localAddresses: f.localAddresses, compareProtocol: true },
      );
      expect({ output: r.output, masq: r.masq }).toEqual({ output: flow.output, masq: flow.masq });
    });
  }
  it('compares -p only when asked (v1.27 tracer ignores protocol)', () => {
    const pkt = { sourceIP: '10.0.0.2', protocol: 'udp', destIP: '172.30.0.41', destPort: 80 };
    const opts = { localAddresses: f.localAddresses };
    expect(tracePacket(parsed.ruleset, pkt, { ...opts, compareProtocol: true }).output).toBe('');
    expect(tracePacket(parsed.ruleset, pkt, { ...opts, compareProtocol: false }).output).toBe(
      '10.180.0.1:80',
    );
  });
  it('addrtype LOCAL follows the given local addresses', () => {
    const pkt = { sourceIP: '192.168.0.2', protocol: 'tcp', destIP: '192.168.99.22', destPort: 80 };
    const local = tracePacket(parsed.ruleset, pkt, {
      localAddresses: f.localAddresses,
      compareProtocol: true,
    });
    const notLocal = tracePacket(parsed.ruleset, pkt, {
      localAddresses: ['127.0.0.1'],
      compareProtocol: true,
    });
    expect(local).toMatchObject({ output: '10.180.0.2:80', masq: true });
    expect(notLocal).toMatchObject({ output: 'DROP', masq: false });
  });
  it('refuses a packet with an unparsable address, as upstream t.Fatalf does', () => {
    expect(() =>
      tracePacket(
        parsed.ruleset,
        { sourceIP: 'bogus', protocol: 'tcp', destIP: '172.30.0.41', destPort: 80 },
        {
          localAddresses: [],
          compareProtocol: true,
        },
      ),
    ).toThrow(HarnessError);
  });
});
