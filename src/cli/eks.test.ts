/**
 * An EKS-shaped dump (test/fixtures/k8s/eks-vpc-cni.yaml: AWS VPC CNI, pods
 * with addresses from the nodes' VPC subnet, nodes without spec.podCIDR, the
 * aws-node DaemonSet) is read by every command: the CNI is detected and said
 * to be not modelled, each pod outside its node's podCIDR is a warning on
 * stderr, the bridge stand-in wires it as a routed /32 (so paths within a
 * node work and the trace says what it cannot be trusted for), and --strict
 * turns those warnings into exit 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

const F = 'eks-vpc-cni.yaml';
const TEXT = readFileSync(join(process.cwd(), 'test/fixtures/k8s', F), 'utf8');
const NODE = 'ip-192-168-12-34.us-west-2.compute.internal';
const OUTSIDE = ['default/web-6b7f9c8d5-abcde', 'kube-system/coredns-5d8f6d7b9c-4xq8z'];

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly code: number;
  /** Substrings of stdout. */
  readonly out?: readonly string[];
  /** Substrings of stderr. */
  readonly err?: readonly string[];
}

const WARNED = ['[detect-cni-not-modelled]', '[k8s-ip-out-of-range]', ...OUTSIDE];

const CASES: readonly Case[] = [
  {
    name: 'reach: every pod, with the warnings',
    args: ['reach', '-f', F],
    code: 0,
    out: ['default/client-7c9d8f6b4-fghij', 'kube-system/coredns-5d8f6d7b9c-4xq8z'],
    err: WARNED,
  },
  {
    name: 'trace within a node through a Service: delivered, wiring stated per pod',
    args: ['trace', '-f', F, '--from', OUTSIDE[0]!, '--to', 'svc/kube-system/kube-dns:53'],
    code: 0,
    out: [
      '⇒ delivered at kube-system/coredns-5d8f6d7b9c-4xq8z',
      'DNAT',
      '[cni-pod-outside-podcidr]',
      'paths to it from other nodes and its addressing in the VPC cannot',
    ],
    err: WARNED,
  },
  {
    name: 'trace across nodes: runs (what it cannot be trusted for is stated)',
    args: ['trace', '-f', F, '--from', 'default/client-7c9d8f6b4-fghij', '--to', 'svc/web:80'],
    code: 0,
    out: ['10.100.143.7:80 → 192.168.3.201:80 (DNAT', '[cni-pod-outside-podcidr]'],
    err: WARNED,
  },
  {
    name: 'rules --only defaults: the detected CNI and the podCIDR it stood in',
    args: ['rules', '-f', F, '--node', NODE, '--only', 'defaults'],
    code: 0,
    out: [
      'aws-vpc-cni (detected from DaemonSet kube-system/aws-node) is not modelled',
      `Node ${NODE} spec.podCIDR`,
    ],
    err: WARNED,
  },
  {
    name: 'rules --only iptables: kube-proxy rules for the Services',
    args: ['rules', '-f', F, '--node', NODE, '--only', 'iptables'],
    code: 0,
    out: ['-A KUBE-SERVICES -d 10.100.0.10/32 -p udp'],
  },
  { name: 'reach --strict: the warnings exit 2', args: ['reach', '-f', F, '--strict'], code: 2 },
];

describe('an EKS (AWS VPC CNI) dump through the CLI', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const io = memoryIo({ [F]: TEXT });
      const code = await main([...c.args], io);
      expect(code, io.stderr).toBe(c.code);
      for (const s of c.out ?? []) expect(io.stdout).toContain(s);
      for (const s of c.err ?? []) expect(io.stderr).toContain(s);
      expect(io.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
