/**
 * The upstream kube-proxy flow corpus (test/fixtures/kube-proxy/flows-only,
 * from kubernetes pkg/proxy/iptables/proxier_test.go) through the CLI as a
 * user would run it: each test's Services, EndpointSlices and proxier
 * settings become cluster YAML with a Cluster object (`corpusCluster`),
 * `packeteye rules -f … --node … --only iptables` writes the node's rules,
 * and every flow is traced through them by `packeteye iptables trace` and
 * summarised as upstream's harness reports it.
 *
 * Not every file can pass: IPv6 proxier tests (packeteye's cluster model is
 * IPv4), and inputs the cluster model still refuses (listed by reason when
 * the last test fails). Every ruleset the CLI does write must pass all its
 * flows.
 */
import { describe, expect, it } from 'vitest';
import { flowFiles, readFlowFile } from '../proxy/testing/flows-corpus.js';
import { corpusCluster } from './testing/corpus-cluster.js';
import { harnessSummary, traceFlowArgs } from './testing/harness-summary.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

interface Outcome {
  readonly file: string;
  readonly flows: number;
  readonly passed: number;
  /** Why the rules could not be written (exit code and first error line), if so. */
  readonly refused?: string;
}

const outcomes: Outcome[] = [];

describe('upstream kube-proxy flows through packeteye rules (Cluster object) and iptables trace', () => {
  for (const file of flowFiles()) {
    const f = readFlowFile(file);
    it(file, async () => {
      const io = memoryIo({ 'cluster.json': corpusCluster(file, f) });
      const code = await main(
        ['rules', '-f', 'cluster.json', '--node', f.inputs.proxier.nodeName, '--only', 'iptables'],
        io,
      );
      if (code !== 0 || f.inputs.proxier.ipFamily === 'IPv6') {
        const why =
          f.inputs.proxier.ipFamily === 'IPv6'
            ? 'IPv6 proxier (the cluster model is IPv4)'
            : `exit ${code}: ${io.stderr.split('\n').find((l) => l.includes('error')) ?? io.stderr.slice(0, 200)}`;
        outcomes.push({ file, flows: f.flows.length, passed: 0, refused: why });
        return;
      }
      const rules = io.stdout;
      const locals = (f.inputs.proxier.nodeInterfaceAddresses ?? f.localAddresses).filter(
        (a) => !a.startsWith('127.') && !a.includes(':'),
      );
      let passed = 0;
      for (const flow of f.flows) {
        const tio = memoryIo({ 'rules.txt': rules });
        const tcode = await main(traceFlowArgs('rules.txt', flow, locals), tio);
        if (tcode !== 0) continue;
        const got = harnessSummary(JSON.parse(tio.stdout).alternatives);
        if (got.output === flow.output && got.masq === flow.masq) passed++;
      }
      outcomes.push({ file, flows: f.flows.length, passed });
    });
  }

  it('every ruleset the CLI writes passes all its flows; at least 39 files / 212 flows (the other 3 are IPv6 proxier tests)', () => {
    const files = outcomes.filter((o) => o.passed === o.flows).length;
    const flows = outcomes.reduce((n, o) => n + o.passed, 0);
    const total = outcomes.reduce((n, o) => n + o.flows, 0);
    const report = outcomes
      .filter((o) => o.passed !== o.flows)
      .map((o) => `${o.file}: ${o.passed}/${o.flows}${o.refused ? ` (${o.refused})` : ''}`)
      .join('\n');
    expect({ total, outcomes: outcomes.length }).toEqual({ total: 227, outcomes: 42 });
    // A file whose rules were written and that fails a flow is a kube-proxy bug, never accepted.
    expect(
      outcomes.filter((o) => !o.refused && o.passed !== o.flows),
      report,
    ).toEqual([]);
    // Files still refused are the cluster model's inputs it does not accept yet (listed in `report`).
    expect(files, report).toBeGreaterThanOrEqual(39);
    expect(flows, report).toBeGreaterThanOrEqual(212);
  });
});
