/**
 * kube-router's rendering against what kube-router writes: the name hashes
 * reproduce values seen on real nodes (the INPUT/FORWARD/OUTPUT hook uuids,
 * the service-range and node-port uuids), and the filter rules for one pod
 * and one policy are kube-router's (pkg/controllers/netpol pod.go,
 * policy.go, network_policy_controller.go), as iptables-save prints them
 * once loaded next to an empty filter table.
 */
import { describe, expect, it } from 'vitest';
import { mergeIptablesSave } from '../iptables/merge.js';
import { parseIptablesSave } from '../iptables/parse.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { kubeRouterHash, renderKubeRouterFilter } from './kube-router.js';
import { buildPolicyWorld } from './world.js';
import { sourcesFromYaml } from './testing/yaml.js';

const WORLD = `
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-b, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}], ports: [{protocol: TCP, port: 80}]}]
`;

const EMPTY = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

describe('kube-router netpol rendering', () => {
  it.each([
    ['INPUT-mcomment--commentkube-router netpol-jKUBE-ROUTER-INPUT', '4IA2OSFRMVNDXBVV'],
    ['FORWARD-mcomment--commentkube-router netpol-jKUBE-ROUTER-FORWARD', 'TEMCG2JMHZYE7H7T'],
    ['OUTPUT-mcomment--commentkube-router netpol-jKUBE-ROUTER-OUTPUT', 'VEAAIY32XVBHCSCY'],
  ])('base32(sha256(%s)) = %s, as on real nodes', (input, want) => {
    expect(kubeRouterHash(input)).toBe(want);
  });

  it('one pod and one ingress policy: the rules and sets kube-router writes', () => {
    const world = buildPolicyWorld(sourcesFromYaml(WORLD, 'w.yaml'));
    const a = world.pods.find((p) => p.key === 'x/a')!;
    const r = renderKubeRouterFilter(world, [a], {
      clusterIPRanges: ['10.96.0.0/12'],
      version: '1700000000000000000',
    });
    const saved = serializeRuleset(parseIptablesSave(mergeIptablesSave([EMPTY, r.text])).ruleset);
    const lines = saved.split('\n');
    const FW = 'KUBE-POD-FW-PVP76UW3KYQOBOCP';
    const NP = 'KUBE-NWPLCY-QCNCUTD7YUB2ILAI';
    const SRC = 'KUBE-SRC-3UXUAROGOZEEDBYM';
    const DST = 'KUBE-DST-6O4XBNJWGZSJTKKU';
    for (const want of [
      '-A INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
      '-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD',
      '-A OUTPUT -m comment --comment "kube-router netpol - VEAAIY32XVBHCSCY" -j KUBE-ROUTER-OUTPUT',
      '-A KUBE-ROUTER-INPUT -d 10.96.0.0/12 -m comment --comment "allow traffic to primary/secondary cluster IP range - BVHX2PIHDXXEO43X" -j RETURN',
      '-A KUBE-ROUTER-INPUT -p tcp -m comment --comment "allow LOCAL TCP traffic to node ports - LR7XO7NXDBGQJD2M" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN',
      '-A KUBE-ROUTER-INPUT -p udp -m comment --comment "allow LOCAL UDP traffic to node ports - 76UCBPIZNGJNWNUZ" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN',
      `-A ${NP} -p tcp -m comment --comment "rule to ACCEPT traffic from source pods to dest pods selected by policy name allow-b namespace x" -m set --match-set ${SRC} src -m set --match-set ${DST} dst -m tcp --dport 80 -j MARK --set-xmark 0x10000/0x10000`,
      `-A ${NP} -p tcp -m comment --comment "rule to ACCEPT traffic from source pods to dest pods selected by policy name allow-b namespace x" -m set --match-set ${SRC} src -m set --match-set ${DST} dst -m tcp --dport 80 -m mark --mark 0x10000/0x10000 -j RETURN`,
      `-A ${FW} -m comment --comment "common bi-directional traffic policy rules" -j KUBE-NWPLCY-COMMON`,
      `-A ${FW} -s 10.0.0.1/32 -m comment --comment "run through default egress network policy chain" -j KUBE-NWPLCY-DEFAULT`,
      `-A ${FW} -d 10.0.0.1/32 -m comment --comment "run through nw policy allow-b" -j ${NP}`,
      `-A ${FW} -m comment --comment "rule to log dropped traffic POD name:a namespace: x" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100`,
      `-A ${FW} -m comment --comment "rule to REJECT traffic destined for POD name:a namespace: x" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable`,
      `-A ${FW} -j MARK --set-xmark 0x0/0x10000`,
      `-A ${FW} -m comment --comment "set mark to ACCEPT traffic that comply to network policies" -j MARK --set-xmark 0x20000/0x20000`,
      `-A KUBE-ROUTER-FORWARD -d 10.0.0.1/32 -m comment --comment "rule to jump traffic destined to POD name:a namespace: x to chain ${FW}" -j ${FW}`,
      `-A KUBE-ROUTER-FORWARD -d 10.0.0.1/32 -m physdev --physdev-is-bridged -m comment --comment "rule to jump traffic destined to POD name:a namespace: x to chain ${FW}" -j ${FW}`,
      '-A KUBE-ROUTER-FORWARD -m comment --comment "rule to explicitly ACCEPT traffic that comply to network policies" -m mark --mark 0x20000/0x20000 -j ACCEPT',
      '-A KUBE-NWPLCY-DEFAULT -m comment --comment "rule to mark traffic matching a network policy" -j MARK --set-xmark 0x10000/0x10000',
    ])
      expect(lines).toContain(want);
    expect(r.ipsetSave.split('\n')).toEqual(
      expect.arrayContaining([`add ${DST} 10.0.0.1 timeout 0`, `add ${SRC} 10.0.0.2 timeout 0`]),
    );
  });
});
