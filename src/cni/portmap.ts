/**
 * The `portmap` CNI plugin (containernetworking/plugins
 * `plugins/meta/portmap/{main,portmap_iptables,chain,utils}.go`,
 * `pkg/utils/utils.go`) as a compiler: a node's pods with `hostPort`s in, the
 * nat-table rules the plugin's CNI ADDs leave behind out.
 *
 * What reaches the plugin: kubelet turns `spec.containers[*].ports[*]` into
 * the sandbox's port mappings (`kuberuntime_sandbox.go`
 * generatePodSandboxConfig → `kubecontainer.MakePortMappings`, which drops a
 * port whose name — or synthetic `family-PROTO-hostIP:containerPort:hostPort`
 * — repeats in the container; init containers are not looked at); the runtime
 * drops mappings with hostPort 0 and lower-cases the protocol (containerd
 * `toCNIPortMappings`). A pod with no mapping left does not touch iptables
 * (`cmdAdd` returns early).
 *
 * Per CNI ADD with mappings, in this order (`forwardPorts`):
 *   nat CNI-HOSTPORT-SETMARK  `-m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000`
 *   nat CNI-HOSTPORT-MASQ     `-m mark --mark 0x2000/0x2000 -j MASQUERADE`,
 *                             entered by `-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade"`
 *   nat CNI-HOSTPORT-DNAT     entered by `-A PREROUTING|OUTPUT -m addrtype --dst-type LOCAL`
 *   nat CNI-DN-<21 hex>       per container: for each mapping, hairpin mark (`-s <podIP/IPAM mask>`),
 *                             localhost mark (`-s 127.0.0.1`), DNAT to podIP:containerPort;
 *                             entered from CNI-HOSTPORT-DNAT by one `-m multiport` rule per protocol
 *                             (protocols sorted, ≤15 ports per rule) with comment
 *                             `dnat name: "<network>" id: "<container id>"`.
 * With snat (IPv4) the plugin also sets `route_localnet=1` on the host
 * interface routing to the pod (`enableLocalnetRouting`, portmap.go), so
 * 127.0.0.1:hostPort works; that sysctl is returned as `routeLocalnetFor`.
 * All adds are check-then-add (`utils.InsertUnique`), so the shared chains and
 * jumps exist once. The per-container entry is APPENDED to CNI-HOSTPORT-DNAT
 * in every released plugin (PR #278 moved it from prepend to append; PR #1267,
 * open, would prepend it again: `dnatEntryOrder: 'prepend'`).
 *
 * The chain name hashes the network name and the container (sandbox) id:
 * `CNI-DN-` + sha512(network + id)[:21 hex]. packeteye has no sandbox id, so
 * it uses `containerId(ns/name)` from `names.ts` — the sha256 hex of
 * `<namespace>/<name>`, 64 hex chars like a runtime's — and reports it as a
 * default; a real id can be passed per pod.
 *
 * hostPort conflicts: kube-scheduler's NodePorts filter (and kubelet's
 * admission, which runs the same predicate) refuses a second pod whose
 * (protocol, hostPort) overlaps one already on the node, an empty or
 * `0.0.0.0` hostIP overlapping every address. packeteye reports each clash as
 * an error naming both pods and the field, and compiles nothing for the
 * refused (later) pod. Two mappings with the same protocol/hostIP/hostPort in
 * ONE pod are rejected by API validation (`AccumulateUniqueHostPorts`).
 * `hostNetwork` pods get no CNI ADD (no rules) but still hold their ports
 * (their hostPort defaults to the containerPort, `defaultHostNetworkPorts`).
 */

import { createHash } from 'node:crypto';
import type { Diagnostic } from '../diag.js';
import type { ClusterModel } from '../k8s/model.js';
import type { Pod, Protocol } from '../k8s/types.js';
import { isIpv4, parseCidr } from '../wire/addr.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';
import { containerId as derivedContainerId } from './names.js';
import type { CniDefault } from './types.js';

export const TOP_LEVEL_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const SET_MARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const MARK_MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
/** `DefaultMarkBit` in main.go: "Kubernetes uses 14 and 15, Calico uses 20-31." */
export const DEFAULT_MARK_BIT = 13;

export const CODE_HOSTPORT_CONFLICT = 'portmap-hostport-conflict';
export const CODE_HOSTPORT_DUPLICATE = 'portmap-hostport-duplicate';
export const CODE_NO_POD_IP = 'portmap-no-pod-ip';
export const CODE_BAD_PORT = 'portmap-invalid-port';
export const CODE_BAD_OPTION = 'portmap-invalid-option';
export const CODE_FAMILY_SKIPPED = 'portmap-hostip-family';

/** `pkg/utils/utils.go` MustFormatHashWithPrefix(28, "CNI-"+prefix, name+id). */
export function formatChainNameWithPrefix(network: string, id: string, prefix: string): string {
  const full = `CNI-${prefix}`;
  if (full.length >= 28) throw new RangeError('invalid length');
  const h = createHash('sha512')
    .update(network + id)
    .digest('hex');
  return `${full}${h}`.slice(0, 28);
}

/** The per-container chain, `genDnatChain`: `CNI-DN-` + 21 hex chars. */
export function dnatChainName(network: string, containerId: string): string {
  return formatChainNameWithPrefix(network, containerId, 'DN-');
}

/** One entry of the CNI `portMappings` capability, with where it came from. */
export interface PortMapEntry {
  readonly hostPort: number;
  readonly containerPort: number;
  /** Lower case, as containerd passes it. */
  readonly protocol: string;
  /** As written in the pod (may be empty, `0.0.0.0`, or an IPv6 address). */
  readonly hostIP: string;
  /** `spec.containers[i].ports[j]`. */
  readonly field: string;
}

/** A pod on the node, in CNI ADD order. */
export interface PortmapPod {
  readonly pod: Pod;
  /**
   * The pod's IPv4 address with its IPAM prefix, as in the CNI prevResult
   * (`ips[].address`, e.g. `10.244.1.5/24`). Required for pod-network pods
   * with hostPorts; a bare address is taken as /32.
   */
  readonly containerNet?: string;
  /** The sandbox id CNI was called with; default: derived from ns/name (see module doc). */
  readonly containerId?: string;
}

export interface PortmapOptions {
  /** The network (conflist) name; default `cbr0` (flannel's). Calico: `k8s-pod-network`, GKE: `gke-pod-network`. */
  readonly networkName?: string;
  /** `snat`, default true. */
  readonly snat?: boolean;
  /** `markMasqBit`, 0..31, default 13 (mark 0x2000). */
  readonly markMasqBit?: number;
  /** `externalSetMarkChain`: jump there instead of creating SETMARK/MASQ (e.g. KUBE-MARK-MASQ). */
  readonly externalSetMarkChain?: string;
  /** `masqAll`: hairpin rule matches every source (`-s 0.0.0.0/0`), no localhost rule. */
  readonly masqAll?: boolean;
  /** Where a container's entry goes in CNI-HOSTPORT-DNAT; default `append` (every release). */
  readonly dnatEntryOrder?: 'append' | 'prepend';
}

export interface PortmapInput extends PortmapOptions {
  readonly node: string;
  /** The pods bound to the node, in the order their sandboxes were created. */
  readonly pods: readonly PortmapPod[];
}

/** A hostPort the rules implement. */
export interface HostPortMapping {
  readonly pod: string;
  readonly chain: string;
  readonly protocol: string;
  readonly hostPort: number;
  /** Set when the DNAT rule carries `-d`. */
  readonly hostIP?: string;
  readonly podIP: string;
  readonly containerPort: number;
  readonly field: string;
}

export interface PortmapOutput extends IptablesFragment {
  readonly mappings: readonly HostPortMapping[];
  /**
   * Pod IPs for which the plugin sets `net.ipv4.conf.<if>.route_localnet=1`
   * on the host interface that routes to them (`getRoutableHostIF` +
   * `enableLocalnetRouting`, when snat), so 127.0.0.1:hostPort can be DNATed
   * across the routing boundary. A sysctl, not a rule: the twin applies it.
   */
  readonly routeLocalnetFor: readonly string[];
  readonly defaults: readonly CniDefault[];
}

function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}

function podRef(p: Pod): string {
  return `Pod ${podKey(p)}`;
}

function isIPv6Literal(s: string): boolean {
  return s.includes(':');
}

/**
 * The mappings the runtime hands portmap for `pod`: kubelet's
 * `MakePortMappings` per container (duplicate names dropped), then
 * containerd's hostPort > 0 filter and lower-cased protocol.
 */
export function podPortMappings(pod: Pod): { entries: PortMapEntry[]; diagnostics: Diagnostic[] } {
  const entries: PortMapEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  pod.spec.containers.forEach((c, ci) => {
    const names = new Set<string>();
    (c.ports ?? []).forEach((p, pj) => {
      const protocol: Protocol = p.protocol ?? 'TCP';
      const hostIP = p.hostIP ?? '';
      const family = hostIP === '' ? 'any' : isIPv6Literal(hostIP) ? 'v6' : 'v4';
      const name =
        p.name !== undefined && p.name !== ''
          ? p.name
          : `${family}-${protocol}-${hostIP}:${p.containerPort}:${p.hostPort ?? 0}`;
      if (names.has(name)) return; // "Port name conflicted, it is defined more than once"
      names.add(name);
      const hostPort = p.hostPort ?? 0;
      if (hostPort <= 0) return;
      const field = `spec.containers[${ci}].ports[${pj}]`;
      if (!Number.isInteger(hostPort) || hostPort > 65535) {
        diagnostics.push({
          code: CODE_BAD_PORT,
          severity: 'error',
          message: `hostPort ${hostPort} is not a port number`,
          object: podRef(pod),
          field: `${field}.hostPort`,
        });
        return;
      }
      if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
        diagnostics.push({
          code: CODE_BAD_PORT,
          severity: 'error',
          message: `containerPort ${p.containerPort} is not a port number`,
          object: podRef(pod),
          field: `${field}.containerPort`,
        });
        return;
      }
      entries.push({
        hostPort,
        containerPort: p.containerPort,
        protocol: protocol.toLowerCase(),
        hostIP,
        field,
      });
    });
  });
  return { entries, diagnostics };
}

/** A (protocol, hostIP, hostPort) a pod holds on its node, as the scheduler counts it. */
interface Claim {
  readonly pod: Pod;
  readonly protocol: string;
  readonly hostIP: string;
  readonly hostPort: number;
  readonly field: string;
}

function isWildcard(ip: string): boolean {
  return ip === '' || ip === '0.0.0.0' || ip === '::';
}

/** The host ports a pod holds (scheduler `getContainerPorts`; hostNetwork pods default hostPort := containerPort). */
function podClaims(pod: Pod): Claim[] {
  const out: Claim[] = [];
  pod.spec.containers.forEach((c, ci) => {
    (c.ports ?? []).forEach((p, pj) => {
      const hostPort =
        p.hostPort !== undefined && p.hostPort > 0
          ? p.hostPort
          : pod.spec.hostNetwork
            ? p.containerPort
            : 0;
      if (hostPort <= 0) return;
      out.push({
        pod,
        protocol: (p.protocol ?? 'TCP').toUpperCase(),
        hostIP: p.hostIP ?? '',
        hostPort,
        field: `spec.containers[${ci}].ports[${pj}].hostPort`,
      });
    });
  });
  return out;
}

function claimsOverlap(a: Claim, b: Claim): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (isWildcard(a.hostIP) || isWildcard(b.hostIP) || a.hostIP === b.hostIP)
  );
}

function describe(c: Claim): string {
  return `${c.protocol} ${isWildcard(c.hostIP) ? '0.0.0.0' : c.hostIP}:${c.hostPort}`;
}

/**
 * hostPort clashes among the pods of one node, in the given (creation)
 * order. Returns the diagnostics and the pods kubelet/the API server would
 * refuse (keyed by ns/name).
 */
export function checkHostPorts(
  node: string,
  pods: readonly Pod[],
): { diagnostics: Diagnostic[]; refused: Set<string> } {
  const diagnostics: Diagnostic[] = [];
  const refused = new Set<string>();
  /** protocol/port -> claims of admitted pods. */
  const held = new Map<string, Claim[]>();
  for (const pod of pods) {
    const claims = podClaims(pod);
    let bad = false;
    // Within the pod: API validation, key protocol/hostIP/hostPort.
    const own = new Map<string, Claim>();
    for (const c of claims) {
      const k = `${c.protocol}/${c.hostIP}/${c.hostPort}`;
      const prev = own.get(k);
      if (prev) {
        diagnostics.push({
          code: CODE_HOSTPORT_DUPLICATE,
          severity: 'error',
          message: `duplicate hostPort ${describe(c)}: ${prev.field} already claims it in this pod; the API server rejects the pod`,
          object: podRef(pod),
          field: c.field,
        });
        bad = true;
      } else own.set(k, c);
    }
    if (!bad) {
      for (const c of claims) {
        const k = `${c.protocol}/${c.hostPort}`;
        const other = (held.get(k) ?? []).find((h) => claimsOverlap(h, c));
        if (other) {
          diagnostics.push({
            code: CODE_HOSTPORT_CONFLICT,
            severity: 'error',
            message:
              `hostPort ${describe(c)} on node ${node} is already held by ${podRef(other.pod)} (${other.field}, ${describe(other)}); ` +
              `the scheduler's NodePorts filter and kubelet admission refuse this pod, so it gets no sandbox and no port mapping`,
            object: podRef(pod),
            field: c.field,
            hint: `give one of the pods another hostPort or hostIP, or let the scheduler place them on different nodes`,
          });
          bad = true;
        }
      }
    }
    if (bad) {
      refused.add(podKey(pod));
      continue;
    }
    for (const c of claims) {
      const k = `${c.protocol}/${c.hostPort}`;
      const list = held.get(k) ?? [];
      list.push(c);
      held.set(k, list);
    }
  }
  return { diagnostics, refused };
}

/** `splitPortList`: comma-joined groups of at most 15 ports (multiport's limit). */
function splitPortList(ports: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += 15) out.push(ports.slice(i, i + 15).join(','));
  return out;
}

/** `trimComment`: iptables' 256-byte comment limit. */
function trimComment(s: string): string {
  return s.length <= 255 ? s : `${s.slice(0, 253)}...`;
}

/** iptables-save's quoting of a comment (xtables_save_string): `"` and `\` escaped. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function hexMark(bit: number): string {
  const v = (1 << bit) >>> 0;
  return `0x${v.toString(16)}/0x${v.toString(16)}`;
}

/** `-p P -m P` as iptables-save prints the implicit protocol match (sctp/tcp/udp; others have no --dport). */
function protoDport(protocol: string, port: number): string {
  return `-p ${protocol} -m ${protocol} --dport ${port}`;
}

/**
 * Compiles the portmap rules of one node. The fragment's text is the
 * plugin's command sequence (see module doc); `saveText` is what
 * `iptables-save` would show if portmap were alone on the node.
 */
export function compilePortmap(input: PortmapInput): PortmapOutput {
  const diagnostics: Diagnostic[] = [];
  const defaults: CniDefault[] = [];
  const mappings: HostPortMapping[] = [];
  const routeLocalnetFor: string[] = [];
  const network = input.networkName ?? 'cbr0';
  const snat = input.snat ?? true;
  const order = input.dnatEntryOrder ?? 'append';
  const markBit = input.markMasqBit ?? DEFAULT_MARK_BIT;
  if (input.markMasqBit !== undefined && input.externalSetMarkChain !== undefined) {
    // parseConfig: "Cannot specify externalSetMarkChain and markMasqBit" — the plugin fails every ADD.
    diagnostics.push({
      code: CODE_BAD_OPTION,
      severity: 'error',
      message: 'Cannot specify externalSetMarkChain and markMasqBit',
      field: 'markMasqBit',
    });
    return { ...new FragmentBuilder().fragment(diagnostics), mappings, routeLocalnetFor, defaults };
  }
  if (!Number.isInteger(markBit) || markBit < 0 || markBit > 31) {
    diagnostics.push({
      code: CODE_BAD_OPTION,
      severity: 'error',
      message: 'MasqMarkBit must be between 0 and 31',
      field: 'markMasqBit',
    });
    return { ...new FragmentBuilder().fragment(diagnostics), mappings, routeLocalnetFor, defaults };
  }
  const setMarkChain = input.externalSetMarkChain ?? SET_MARK_CHAIN;

  const { diagnostics: clashes, refused } = checkHostPorts(
    input.node,
    input.pods.map((p) => p.pod),
  );
  diagnostics.push(...clashes);

  const b = new FragmentBuilder();
  let sharedDone = false;
  for (const pp of input.pods) {
    const pod = pp.pod;
    if (pod.spec.hostNetwork) continue; // no CNI ADD for host-network pods
    if (refused.has(podKey(pod))) continue;
    const { entries, diagnostics: ds } = podPortMappings(pod);
    diagnostics.push(...ds);
    if (entries.length === 0) continue; // cmdAdd returns before touching iptables

    const addr = podAddress(pp, diagnostics);
    if (addr === undefined) continue;
    const { podIP, net } = addr;
    const cid = pp.containerId ?? derivedContainerId(podKey(pod));
    if (pp.containerId === undefined) {
      defaults.push({
        object: podRef(pod),
        field: 'sandbox id',
        value: cid,
        reason:
          'portmap hashes the sandbox id into its chain name; packeteye uses sha256("<namespace>/<name>")',
      });
    }
    const chain = dnatChainName(network, cid);
    if (snat) routeLocalnetFor.push(podIP);

    // Shared chains, created by the first ADD that has mappings (later ADDs find them).
    if (!sharedDone) {
      sharedDone = true;
      addSharedChains(b, snat && input.externalSetMarkChain === undefined, markBit);
    }

    fillDnatRules(
      b,
      { input, pod, entries, chain, podIP, net, snat, setMarkChain },
      mappings,
      diagnostics,
    );

    for (const r of entryRules(entries, network, cid, chain)) {
      if (order === 'append') b.append('nat', TOP_LEVEL_DNAT_CHAIN, r);
      else b.insert('nat', TOP_LEVEL_DNAT_CHAIN, r);
    }
  }

  return { ...b.fragment(diagnostics), mappings, routeLocalnetFor, defaults };
}

/** The pod's IPv4 address and prefix from CNI, or undefined (with an error) when it has none usable. */
function podAddress(
  pp: PortmapInput['pods'][number],
  diagnostics: Diagnostic[],
): { podIP: string; net: ReturnType<typeof parseCidr> } | undefined {
  const pod = pp.pod;
  if (pp.containerNet === undefined) {
    diagnostics.push({
      code: CODE_NO_POD_IP,
      severity: 'error',
      message: `pod has hostPorts but no IPv4 address from CNI; its port mappings are not compiled`,
      object: podRef(pod),
      field: 'status.podIP',
    });
    return undefined;
  }
  const slash = pp.containerNet.indexOf('/');
  const podIP = slash < 0 ? pp.containerNet : pp.containerNet.slice(0, slash);
  if (!isIpv4(podIP)) {
    diagnostics.push({
      code: CODE_NO_POD_IP,
      severity: 'error',
      message: `pod address "${pp.containerNet}" is not IPv4`,
      object: podRef(pod),
      field: 'status.podIP',
    });
    return undefined;
  }
  let net;
  try {
    net = parseCidr(pp.containerNet);
  } catch {
    diagnostics.push({
      code: CODE_NO_POD_IP,
      severity: 'error',
      message: `pod address "${pp.containerNet}" is not an IPv4 prefix`,
      object: podRef(pod),
      field: 'status.podIP',
    });
    return undefined;
  }
  return { podIP, net };
}

/** The chains every mapping shares: the masquerade mark pair (unless an external chain sets the mark) and the top-level DNAT chain. */
function addSharedChains(b: FragmentBuilder, ownMarkChains: boolean, markBit: number): void {
  if (ownMarkChains) {
    b.chain('nat', SET_MARK_CHAIN).append(
      'nat',
      SET_MARK_CHAIN,
      `-m comment --comment ${quote('CNI portfwd masquerade mark')} -j MARK --set-xmark ${hexMark(markBit)}`,
    );
    b.chain('nat', MARK_MASQ_CHAIN)
      .append('nat', MARK_MASQ_CHAIN, `-m mark --mark ${hexMark(markBit)} -j MASQUERADE`)
      .insert(
        'nat',
        'POSTROUTING',
        `-m comment --comment ${quote('CNI portfwd requiring masquerade')} -j ${MARK_MASQ_CHAIN}`,
      );
  }
  b.chain('nat', TOP_LEVEL_DNAT_CHAIN)
    .append('nat', 'PREROUTING', `-m addrtype --dst-type LOCAL -j ${TOP_LEVEL_DNAT_CHAIN}`)
    .append('nat', 'OUTPUT', `-m addrtype --dst-type LOCAL -j ${TOP_LEVEL_DNAT_CHAIN}`);
}

interface DnatContext {
  input: PortmapInput;
  pod: PortmapInput['pods'][number]['pod'];
  entries: ReturnType<typeof podPortMappings>['entries'];
  chain: string;
  podIP: string;
  net: ReturnType<typeof parseCidr>;
  snat: boolean;
  setMarkChain: string;
}

/** fillDnatRules: the pod's own chain, 2-3 rules per entry. */
function fillDnatRules(
  b: FragmentBuilder,
  { input, pod, entries, chain, podIP, net, snat, setMarkChain }: DnatContext,
  mappings: HostPortMapping[],
  diagnostics: Diagnostic[],
): void {
  b.chain('nat', chain);
  const seen = new Set<string>(); // InsertUnique inside the chain
  const add = (body: string) => {
    if (seen.has(body)) return;
    seen.add(body);
    b.append('nat', chain, body);
  };
  for (const e of entries) {
    let dst = '';
    if (e.hostIP !== '') {
      if (isIPv6Literal(e.hostIP)) {
        diagnostics.push({
          code: CODE_FAMILY_SKIPPED,
          severity: 'info',
          message: `hostIP ${e.hostIP} is IPv6; the IPv4 DNAT rules skip this mapping (its port still appears in the multiport entry rule)`,
          object: podRef(pod),
          field: `${e.field}.hostIP`,
        });
        continue;
      }
      if (!isIpv4(e.hostIP)) {
        diagnostics.push({
          code: CODE_BAD_PORT,
          severity: 'error',
          message: `hostIP "${e.hostIP}" is not an IP address`,
          object: podRef(pod),
          field: `${e.field}.hostIP`,
        });
        continue;
      }
      if (e.hostIP !== '0.0.0.0') dst = `-d ${e.hostIP}/32 `;
    }
    const base = protoDport(e.protocol, e.hostPort);
    if (snat) {
      const masqSrc = input.masqAll ? '' : `-s ${net.network}/${net.prefix} `;
      // `-s 0.0.0.0/0` is not printed by iptables-save.
      add(`${masqSrc}${dst}${base} -j ${setMarkChain}`);
      if (!input.masqAll) add(`-s 127.0.0.1/32 ${dst}${base} -j ${setMarkChain}`);
    }
    add(`${dst}${base} -j DNAT --to-destination ${podIP}:${e.containerPort}`);
    mappings.push({
      pod: podKey(pod),
      chain,
      protocol: e.protocol,
      hostPort: e.hostPort,
      ...(dst !== '' ? { hostIP: e.hostIP } : {}),
      podIP,
      containerPort: e.containerPort,
      field: e.field,
    });
  }
}

/** Entry rules: one multiport rule per protocol (sorted), ≤ 15 ports each. */
function entryRules(
  entries: DnatContext['entries'],
  network: string,
  cid: string,
  chain: string,
): string[] {
  const byProto = new Map<string, number[]>();
  for (const e of entries) {
    const l = byProto.get(e.protocol) ?? [];
    l.push(e.hostPort);
    byProto.set(e.protocol, l);
  }
  const comment = quote(trimComment(`dnat name: "${network}" id: "${cid}"`));
  const rules: string[] = [];
  for (const proto of [...byProto.keys()].sort()) {
    for (const spec of splitPortList(byProto.get(proto)!)) {
      rules.push(
        `-p ${proto} -m comment --comment ${comment} -m multiport --dports ${spec} -j ${chain}`,
      );
    }
  }
  return rules;
}

/**
 * {@link compilePortmap} for one node of a cluster model. Pod-network pods
 * bring their `status.podIP` with the IPAM prefix `ipamPrefix` — the node
 * podCIDR's prefix by default (host-local over the podCIDR: bridge, flannel,
 * GKE's ptp); Calico's calico-ipam hands out /32s, so pass 32 there.
 * hostNetwork pods are included for clash detection. Order: the order the
 * pods appear in the input files (file, document, list item) — packeteye's
 * stand-in for the order the sandboxes were created — then ns/name.
 * Diagnostics about a pod carry its file, document and line.
 */
export function compilePortmapForNode(
  model: ClusterModel,
  nodeName: string,
  opts: PortmapOptions & { readonly ipamPrefix?: number } = {},
): PortmapOutput {
  const node = model.nodes.get(nodeName);
  const pods = [...(model.podsByNode.get(nodeName) ?? [])];
  const origin = (p: Pod) => model.origins.get(podRef(p));
  pods.sort((a, b) => {
    const oa = origin(a);
    const ob = origin(b);
    if (oa && ob) {
      if (oa.file !== ob.file) return oa.file < ob.file ? -1 : 1;
      if (oa.document !== ob.document) return oa.document - ob.document;
      if ((oa.item ?? 0) !== (ob.item ?? 0)) return (oa.item ?? 0) - (ob.item ?? 0);
    } else if (oa || ob) return oa ? -1 : 1;
    return podKey(a) < podKey(b) ? -1 : podKey(a) > podKey(b) ? 1 : 0;
  });
  let prefix = opts.ipamPrefix;
  if (prefix === undefined && node) {
    try {
      prefix = parseCidr(node.spec.podCIDR).prefix;
    } catch {
      prefix = undefined;
    }
  }
  const input: PortmapPod[] = pods.map((p) =>
    p.spec.hostNetwork ? { pod: p } : { pod: p, containerNet: `${p.status.podIP}/${prefix ?? 32}` },
  );
  const { ipamPrefix: _ignored, ...options } = opts;
  void _ignored;
  const out = compilePortmap({ ...options, node: nodeName, pods: input });
  const located = out.diagnostics.map((d) => {
    const o = d.object !== undefined ? model.origins.get(d.object) : undefined;
    return o ? { ...d, file: o.file, document: o.document, line: o.line } : d;
  });
  return { ...out, diagnostics: located };
}
