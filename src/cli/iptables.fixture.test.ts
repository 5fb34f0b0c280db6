/**
 * Upstream kube-proxy's own packet-flow expectations (TestTracePacket,
 * pkg/proxy/iptables/proxier_test.go; fixture copied from the shared corpus,
 * see test/fixtures/kube-proxy/README.md), run through OUR evaluator via the
 * CLI exactly as a user would: `packeteye iptables trace --all-paths -o json`.
 *
 * Upstream's harness is not a kernel, so we derive its summary from our
 * answer instead of bending the evaluator:
 * - it starts every flow at nat PREROUTING; we start a flow from a local
 *   address at OUTPUT (as the kernel does). Both reach nat KUBE-SERVICES with
 *   the same packet, so the DNAT set and the mark agree;
 * - it takes every statistic branch; we enumerate them (`--all-paths`) and
 *   collect each alternative's DNAT destination, in the order of the DNAT
 *   rules in the dump;
 * - `masq` = KUBE-MARK-MASQ ran on some branch = our `masqueradeMark`;
 * - it walks only filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES,
 *   KUBE-NODEPORTS and KUBE-PROXY-FIREWALL, and ctstate/mark rules never match
 *   there; so its ACCEPT/DROP/REJECT word corresponds to our verdict when it
 *   was decided by a rule in one of those filter chains (our KUBE-FORWARD
 *   ACCEPT by mark, for instance, has no counterpart in it).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { main } from './main.js';
import { memoryIo } from './io.js';
import type { Flow } from '../proxy/testing/flows-corpus.js';
import { harnessSummary, traceFlowArgs, type AltJson } from './testing/harness-summary.js';

const fixture = JSON.parse(
  readFileSync('test/fixtures/kube-proxy/v13x_TestTracePacket.json', 'utf8'),
) as {
  iptablesSave: string;
  localAddresses: string[];
  flows: Flow[];
};

describe('kube-proxy TestTracePacket flows through `packeteye iptables trace`', () => {
  const localIps = fixture.localAddresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  it.each(fixture.flows)('$name', async (flow) => {
    const io = memoryIo({ 'v13x.save': fixture.iptablesSave });
    const code = await main(traceFlowArgs('v13x.save', flow, localIps), io);
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const json = JSON.parse(io.stdout) as { alternatives: AltJson[] };
    const total = json.alternatives.reduce(
      (s, a) => s + (a as unknown as { probability: number }).probability,
      0,
    );
    expect(total).toBeCloseTo(1, 9);
    expect(harnessSummary(json.alternatives)).toEqual({ output: flow.output, masq: flow.masq });
  });
});
