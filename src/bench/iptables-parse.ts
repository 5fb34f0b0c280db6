/**
 * Benchmark: parse a kube-proxy-sized `iptables-save` dump.
 *
 * `kubeProxyScaleDump` writes, deterministically, what iptables-save prints
 * on a kube-proxy (iptables mode, 1.28+ layout) node with 10,000 ClusterIP
 * services of one TCP port and one endpoint each, in kube-proxy's
 * "large cluster" form (more than 1,000 endpoints: no per-endpoint comments)
 * and without a cluster CIDR (so no KUBE-SVC masquerade rule): per service a
 * KUBE-SERVICES entry, a KUBE-SVC jump and a KUBE-SEP pair (hairpin
 * masquerade, DNAT) — 4 rules, about 40,000 with the static chains. Chain
 * names use kube-proxy's own hash (base32(sha256(…))[:16]).
 * `benchParse` times parseIptablesSave on it (median of 5 runs after a
 * warm-up); the target is well under one second.
 */
import { sha256Base32 } from '../k8s/hash.js';
import { performance } from 'node:perf_hooks';
import { parseIptablesSave } from '../iptables/parse.js';

/** kube-proxy's portProtoHash / servicePortEndpointChainName: base32(sha256(s))[:16]. */
export const kubeHash = sha256Base32;

function ip(base: number, n: number): string {
  const x = (base + n) >>> 0;
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

/** The dump iptables-save would print for `services` ClusterIP services (filter and nat). */
export function kubeProxyScaleDump(services = 10_000): { text: string; rules: number } {
  const svcChains: string[] = [];
  const sepChains: string[] = [];
  const servicesRules: string[] = [];
  const svcRules: string[] = [];
  const sepRules: string[] = [];
  for (let i = 0; i < services; i++) {
    const ns = `ns${i % 97}`;
    const spn = `${ns}/svc-${i}:http`;
    const vip = ip(0x0a600000, i + 10); // 10.96.0.10 …
    const ep = ip(0x0af40000, i + 2); // 10.244.0.2 …
    const svc = `KUBE-SVC-${kubeHash(`${spn}tcp`)}`;
    const sep = `KUBE-SEP-${kubeHash(`${spn}tcp${ep}:8080`)}`;
    svcChains.push(svc);
    sepChains.push(sep);
    servicesRules.push(
      `-A KUBE-SERVICES -d ${vip}/32 -p tcp -m comment --comment "${spn} cluster IP" -m tcp --dport 80 -j ${svc}`,
    );
    svcRules.push(`-A ${svc} -j ${sep}`);
    sepRules.push(
      `-A ${sep} -s ${ep}/32 -j KUBE-MARK-MASQ`,
      `-A ${sep} -p tcp -m tcp -j DNAT --to-destination ${ep}:8080`,
    );
  }
  const filter = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A INPUT -j KUBE-FIREWALL',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
  ];
  const userChains = [
    'KUBE-MARK-MASQ',
    'KUBE-NODEPORTS',
    'KUBE-POSTROUTING',
    ...sepChains,
    'KUBE-SERVICES',
    ...svcChains,
  ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Rules grouped by chain in the chains' (sorted) order, as iptables-save prints them.
  const byChain = new Map<string, string[]>();
  const add = (line: string): void => {
    const chain = line.slice(3, line.indexOf(' ', 3));
    const list = byChain.get(chain);
    if (list) list.push(line);
    else byChain.set(chain, [line]);
  };
  [
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...servicesRules,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ...svcRules,
    ...sepRules,
  ].forEach(add);
  const nat = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...userChains.map((c) => `:${c} - [0:0]`),
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ...userChains.flatMap((c) => byChain.get(c) ?? []),
    'COMMIT',
  ];
  const lines = [...filter, ...nat];
  return { text: `${lines.join('\n')}\n`, rules: lines.filter((l) => l.startsWith('-A ')).length };
}

/** Times parseIptablesSave on the 10,000-service dump: median of 5 runs after one warm-up. */
export function benchParse(services = 10_000): { rules: number; ms: number } {
  const { text, rules } = kubeProxyScaleDump(services);
  const run = (): number => {
    const t0 = performance.now();
    const { diagnostics } = parseIptablesSave(text, 'bench.rules');
    const ms = performance.now() - t0;
    const bad = diagnostics.find((d) => d.severity === 'error');
    if (bad)
      throw new Error(`benchmark dump does not parse: line ${bad.line ?? '?'}: ${bad.message}`);
    return ms;
  };
  run();
  const times = [run(), run(), run(), run(), run()].sort((a, b) => a - b);
  return { rules, ms: times[2]! };
}
