/**
 * Every `-o json|yaml` document, as the commands write it on the shipped
 * examples, validates against its kind's JSON Schema (schema/), and `-o yaml`
 * is the same document. Other suites validate their own outputs with
 * `expectDocument` as well; this table is the one place every kind appears.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { DocumentKind } from '../render/document.js';
import { expectDocument, schemaErrors } from '../render/testing/schema.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const EXAMPLES = join(import.meta.dirname, '../../examples');
const ex = (name: string) => readFileSync(join(EXAMPLES, name), 'utf8');

const FILES: Record<string, string> = {
  'two-nodes.yaml': ex('two-nodes.yaml'),
  'policy-calico.yaml': ex('policy-calico.yaml'),
  'gke-lb-traefik.yaml': ex('gke-lb-traefik.yaml'),
  'node.rules': ex('iptables/kube-proxy-node.rules'),
  'store.yaml': ex('expectations/store.yaml'),
  'contiv.yaml': ex('contiv-vpp-two-nodes.yaml'),
};

const CASES: readonly { name: string; kind: DocumentKind; args: string[] }[] = [
  {
    name: 'trace',
    kind: 'Trace',
    args: [
      'trace',
      '-f',
      'two-nodes.yaml',
      '--from',
      'default/frontend',
      '--to',
      'svc/default/store-be:80',
    ],
  },
  {
    name: 'trace --all-paths',
    kind: 'Trace',
    args: [
      'trace',
      '-f',
      'two-nodes.yaml',
      '--from',
      'default/frontend',
      '--to',
      'svc/default/store-be:80',
      '--all-paths',
    ],
  },
  {
    name: 'trace denied by policy, with suggestions',
    kind: 'Trace',
    args: [
      'trace',
      '-f',
      'policy-calico.yaml',
      '--from',
      'store/fe-1',
      '--to',
      'svc/store/db:6379',
    ],
  },
  {
    name: 'trace through an ingress controller',
    kind: 'Trace',
    args: [
      'trace',
      '-f',
      'gke-lb-traefik.yaml',
      '--from',
      'host/user',
      '--to',
      '35.211.100.7:80',
      '--http',
      'whoami.example.com/',
    ],
  },
  {
    name: 'iptables trace --all-paths --reply',
    kind: 'IptablesTrace',
    args: [
      'iptables',
      'trace',
      '--rules',
      'node.rules',
      '--src',
      '10.244.1.5',
      '--dst',
      '10.96.0.10',
      '--dport',
      '53',
      '--proto',
      'udp',
      '--all-paths',
      '--reply',
    ],
  },
  {
    name: 'reach (per pod)',
    kind: 'Reachability',
    args: ['reach', '-f', 'policy-calico.yaml'],
  },
  {
    name: 'reach --grouped --port',
    kind: 'Reachability',
    args: ['reach', '-f', 'policy-calico.yaml', '--grouped', '--port', 'TCP/6379'],
  },
  {
    name: 'reach --explain (denied, with suggestions)',
    kind: 'ReachabilityExplanation',
    args: [
      'reach',
      '-f',
      'policy-calico.yaml',
      '--explain',
      'store/fe-1',
      'store/db-1',
      '--port',
      'TCP/6379',
    ],
  },
  {
    name: 'reach --diff',
    kind: 'ReachabilityDiff',
    args: ['reach', '--diff', '-f', 'policy-calico.yaml', '--against', 'two-nodes.yaml'],
  },
  {
    name: 'rules --after-trace',
    kind: 'NodeRules',
    args: [
      'rules',
      '-f',
      'two-nodes.yaml',
      '--node',
      'node-1',
      '--after-trace',
      '--from',
      'default/frontend',
      '--to',
      'svc/default/store-be:80',
    ],
  },
  {
    name: 'rules (Calico, IP sets)',
    kind: 'NodeRules',
    args: ['rules', '-f', 'policy-calico.yaml', '--node', 'node-a'],
  },
  {
    name: 'rules (Contiv-VPP: the vswitch)',
    kind: 'VswitchState',
    args: ['rules', '-f', 'contiv.yaml', '--node', 'k8s-master'],
  },
  {
    name: 'check',
    kind: 'ConnectivityCheck',
    args: ['check', '-f', 'policy-calico.yaml', '--expect', 'store.yaml'],
  },
];

describe('every document validates against its schema', () => {
  it.each(CASES)('$name', async ({ kind, args }) => {
    const json = memoryIo(FILES);
    const code = await main([...args, '-o', 'json'], json);
    expect(code, json.stderr).toBeLessThan(2);
    const doc = expectDocument(json.stdout, kind);
    const yaml = memoryIo(FILES);
    await main([...args, '-o', 'yaml'], yaml);
    const y = parse(yaml.stdout) as unknown;
    expect(schemaErrors(y)).toEqual([]);
    expect(y).toEqual(doc);
  });
});
