import { it } from "vitest";
import { loadDocuments } from './load.js';
import { formatDiagnostic } from '../diag.js';
it("scratch", () => {
const r = loadDocuments([{ path: 'a.yaml', text: `apiVersion: v1
kind: Pod
metadata:
  name: a
spec:
  containers:
  - name: c
    ports:
    - containerPort: 70000
      protocol: tcp
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s}
  spec:
    ports:
    - port: 80
      targetPort: "8080"
- kind: Deployment
  apiVersion: apps/v1
  metadata: {name: d}
---
a: [
---
kind: ConfigMap
apiVersion: v1
metadata: {name: x}
` }, {path: 'b.json', text: '{"kind": "Pod",\n "apiVersion": "v1" "x": 1}'}]);
console.log(JSON.stringify(r.objects.map(o=>o.origin)));
for (const d of r.diagnostics) console.log(formatDiagnostic(d));
});
