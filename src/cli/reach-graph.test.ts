import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

const STORE = readFileSync(join(import.meta.dirname, '../../examples/policy-calico.yaml'), 'utf8');

// Two replicas of one workload; only the one whose address is inside the ipBlock is admitted
// to the database: the workload's edge holds for some of its pods (dashed).
const PARTIAL = `
apiVersion: v1
kind: Pod
metadata: {name: web-abc12, namespace: a, labels: {app: web, pod-template-hash: abc}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-def34, namespace: a, labels: {app: web, pod-template-hash: abc}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.9.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: b, labels: {app: db}}
spec: {containers: [{name: c}]}
status: {podIP: 10.1.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: b}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/24}}], ports: [{port: 5432}]}]
`;

async function run(args: string[], files: Record<string, string>) {
  const io = memoryIo(files);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('reach -o dot|mermaid', () => {
  it('draws workloads in namespace boxes with the allowed ports on the edges (mermaid)', async () => {
    const r = await run(['reach', '-f', 'c.yaml', '-o', 'mermaid'], { 'c.yaml': STORE });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'flowchart LR',
        '  subgraph ns0["store"]',
        '    n0["be (2 pods)"]',
        '    n1["db-1"]',
        '    n2["fe (2 pods)"]',
        '  end',
        '  n0 -->|"TCP 6379"| n1',
        '  n2 -->|"TCP 8080"| n0',
        '',
      ].join('\n'),
    );
  });

  it('writes the same graph as DOT', async () => {
    const r = await run(['reach', '-f', 'c.yaml', '-o', 'dot'], { 'c.yaml': STORE });
    expect(r.out).toMatch(/^digraph reach \{\n/);
    expect(r.out).toMatch(
      /subgraph cluster_0 \{\n {4}label="store";\n {4}n0 \[label="be \(2 pods\)"\];/,
    );
    expect(r.out).toMatch(/ {2}n2 -> n0 \[label="TCP 8080"\];\n/);
    expect(r.out).toMatch(/\}\n$/);
  });

  it('dashes an edge that holds for some of the pods only, and draws external ranges', async () => {
    const r = await run(['reach', '-f', 'c.yaml', '-o', 'mermaid'], { 'c.yaml': PARTIAL });
    expect(r.out).toMatch(/n\d+\["web \(2 pods\)"\]/);
    const web = /(n\d+)\["web \(2 pods\)"\]/.exec(r.out)![1];
    const db = /(n\d+)\["db-0"\]/.exec(r.out)![1];
    expect(r.out).toContain(`  ${web} -.->|"TCP 5432"| ${db}`);
    expect(r.out).toMatch(/\(\["10\.0\.0\.0\/24"\]\)/);
    const dot = await run(['reach', '-f', 'c.yaml', '-o', 'dot'], { 'c.yaml': PARTIAL });
    expect(dot.out).toMatch(/ -> .* \[label="TCP 5432", style=dashed\];/);
  });
});
