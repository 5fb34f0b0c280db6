import { it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin } from './index.js';
import { traceConnection } from '../trace/connection.js';
it('perf', () => {
  const docs: string[] = [`apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: big}
spec: {clusterCIDR: 10.0.0.0/8, serviceCIDR: 172.20.0.0/16, underlay: {cidr: 192.168.0.0/16, gateway: 192.168.0.1}}`];
  for (let n = 0; n < 100; n++) {
    docs.push(`apiVersion: v1
kind: Node
metadata: {name: n${n}}
spec: {podCIDR: 10.${n}.0.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.${n + 10}}]}`);
    for (let p = 0; p < 50; p++) docs.push(`apiVersion: v1
kind: Pod
metadata: {name: p${n}-${p}, namespace: default, labels: {app: a${p % 20}}}
spec: {nodeName: n${n}, containers: [{name: c, ports: [{containerPort: 80}]}]}`);
  }
  for (let s = 0; s < 20; s++) docs.push(`apiVersion: v1
kind: Service
metadata: {name: s${s}, namespace: default}
spec: {selector: {app: a${s}}, ports: [{port: 80}]}`);
  let t0 = performance.now();
  const l = loadDocuments([{ path: 'big.yaml', text: docs.join('\n---\n') }]);
  const { model, diagnostics } = buildModel(l.objects);
  console.log('model', performance.now() - t0, diagnostics.length);
  t0 = performance.now();
  const plan = planTwin(model);
  console.log('plan', performance.now() - t0);
  t0 = performance.now();
  plan.instantiate();
  console.log('instantiate', performance.now() - t0);
  t0 = performance.now();
  const t = traceConnection(plan, { from: 'default/p0-0', to: 'svc/default/s1:80' });
  console.log('trace', performance.now() - t0, t.request.disposition, t.reply?.disposition);
}, 120000);
