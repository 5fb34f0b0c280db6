/**
 * One reading of the cluster for every command (cli/cluster.ts): real
 * inputs an API server accepted read with at most a warning, the same in
 * trace, rules and reach, and --strict turning those warnings into exit 2.
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

const POD = (name: string, extra: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: a, labels: {app: ${name}}}\nspec: {nodeName: n1, containers: [{name: c}]}\n${extra}---\n`;
const NODE =
  'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.244.1.0/24}\n---\n';

const cases: [name: string, text: string, code: string][] = [
  [
    'a Pending pod',
    NODE +
      POD('x', 'status: {podIP: 10.244.1.5}\n') +
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c}]}\nstatus: {phase: Pending}\n',
    '',
  ],
  [
    'a pod IP outside its node podCIDR',
    NODE + POD('x', 'status: {podIP: 10.9.0.5}\n'),
    'k8s-ip-out-of-range',
  ],
  ['a name with "_"', NODE + POD('x_y', 'status: {podIP: 10.244.1.5}\n'), 'k8s-invalid-name'],
  [
    'a pod without apiVersion',
    NODE +
      POD('x', 'status: {podIP: 10.244.1.5}\n').replace('apiVersion: v1\nkind: Pod', 'kind: Pod'),
    'k8s-missing-apiversion',
  ],
  [
    'a nodePort outside 30000-32767',
    NODE +
      POD('x', 'status: {podIP: 10.244.1.5}\n') +
      'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {type: NodePort, selector: {app: x}, ports: [{port: 80, nodePort: 3001}]}\n',
    'k8s-node-port-range',
  ],
  [
    'an unknown field in a Service spec',
    NODE +
      POD('x', 'status: {podIP: 10.244.1.5}\n') +
      'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {selector: {app: x}, selecter: {app: x}, ports: [{port: 80}]}\n',
    'k8s-unknown-field',
  ],
  [
    'the beta external-traffic annotation on a current cluster',
    NODE +
      POD('x', 'status: {podIP: 10.244.1.5}\n') +
      'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a, annotations: {service.beta.kubernetes.io/external-traffic: OnlyLocal}}\nspec: {type: NodePort, selector: {app: x}, ports: [{port: 80}]}\n',
    'k8s-legacy-external-traffic',
  ],
];

describe('one reading of the cluster: accepted with at most a warning, --strict exits 2', () => {
  it.each(cases)('%s', async (_name, text, code) => {
    for (const cmd of [
      ['trace', '-f', 'c.yaml', '--from', 'a/x', '--to', '1.2.3.4:80'],
      ['rules', '-f', 'c.yaml', '--node', 'n1', '--only', 'defaults'],
      ['reach', '-f', 'c.yaml'],
    ]) {
      const io = memoryIo({
        'c.yaml': text.replace('name: x_y', 'name: x') === text ? text : text,
      });
      const from = text.includes('x_y') ? cmd.map((a) => (a === 'a/x' ? 'a/x_y' : a)) : cmd;
      expect(await main(from, io), `${cmd[0]}: ${io.stderr}`).toBe(0);
      if (code !== '') expect(io.stderr, cmd[0]).toContain(`[${code}]`);
      if (code === '') continue;
      const strict = memoryIo({ 'c.yaml': text });
      expect(await main([...from, '--strict'], strict), cmd[0]).toBe(2);
      expect(strict.stderr).toContain(`[${code}]`);
    }
  });
});
