/**
 * packeteye's own kinds (packeteye.dev/v1alpha1): the Cluster (CIDRs, CNI,
 * kube-proxy, masquerade, policy enforcer, cloud, underlay) and
 * ExternalHost (a machine outside the cluster).
 */

import { scalarSource } from '../parse.js';
import type { CniSpec, Cluster, ExternalHost } from '../types.js';
import { each, type Decoder, step, type Rec } from './decoder.js';

export function decodeCluster(d: Decoder, raw: Rec): Cluster | undefined {
  const metadata = d.meta(raw, 'Cluster', false);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']) ?? {};
  const c: Cluster = { apiVersion: 'packeteye.dev/v1alpha1', kind: 'Cluster', metadata, spec: {} };
  const s = c.spec;
  const cc = d.cidr(spec.clusterCIDR, ['spec', 'clusterCIDR']);
  if (cc) s.clusterCIDR = cc;
  const sc = d.cidr(spec.serviceCIDR, ['spec', 'serviceCIDR']);
  if (sc) s.serviceCIDR = sc;
  const cd = d.str(spec.clusterDomain, ['spec', 'clusterDomain']);
  if (cd) s.clusterDomain = cd;
  if (spec.nodeCIDRMaskSize !== undefined && spec.nodeCIDRMaskSize !== null) {
    const m = d.int(spec.nodeCIDRMaskSize, ['spec', 'nodeCIDRMaskSize']);
    if (m !== undefined && (m < 8 || m > 30)) {
      d.error(
        ['spec', 'nodeCIDRMaskSize'],
        'k8s-invalid-value',
        `nodeCIDRMaskSize ${m} is outside 8–30`,
        'use 24 (the kube-controller-manager default)',
      );
    } else if (m !== undefined) s.nodeCIDRMaskSize = m;
  }
  const npr = decodeNodePortRange(d, spec.serviceNodePortRange);
  if (npr) s.serviceNodePortRange = npr;
  const cni = decodeCni(d, spec.cni);
  if (cni) s.cni = cni;
  const kp = decodeKubeProxy(d, spec.kubeProxy);
  if (kp) s.kubeProxy = kp;
  const masq = d.map(spec.masquerade, ['spec', 'masquerade']);
  if (masq) {
    const m: NonNullable<Cluster['spec']['masquerade']> = {};
    const en = d.bool(masq.enabled, ['spec', 'masquerade', 'enabled']);
    if (en !== undefined) m.enabled = en;
    const nm = each(
      d,
      masq.nonMasqueradeCIDRs,
      ['spec', 'masquerade', 'nonMasqueradeCIDRs'],
      (v, p) => d.cidr(v, p),
    );
    if (nm) m.nonMasqueradeCIDRs = nm;
    s.masquerade = m;
  }
  const np = d.map(spec.networkPolicy, ['spec', 'networkPolicy']);
  if (np) {
    const e = d.oneOf(np.enforcer, ['spec', 'networkPolicy', 'enforcer'], [
      'none',
      'calico',
      'kube-router',
    ] as const);
    s.networkPolicy = e ? { enforcer: e } : {};
  }
  const cloud = d.map(spec.cloud, ['spec', 'cloud']);
  if (cloud) {
    const p = d.oneOf(cloud.provider, ['spec', 'cloud', 'provider'], ['none', 'gce'] as const);
    s.cloud = p ? { provider: p } : {};
  }
  const ul = d.map(spec.underlay, ['spec', 'underlay']);
  if (ul) {
    const u: NonNullable<Cluster['spec']['underlay']> = {};
    const cidr = d.cidr(ul.cidr, ['spec', 'underlay', 'cidr']);
    if (cidr) u.cidr = cidr;
    const gw = d.ip(ul.gateway, ['spec', 'underlay', 'gateway']);
    if (gw) u.gateway = gw;
    if (ul.mtu !== undefined && ul.mtu !== null) {
      const mtu = d.int(ul.mtu, ['spec', 'underlay', 'mtu']);
      if (mtu !== undefined && (mtu < 576 || mtu > 9216))
        d.error(['spec', 'underlay', 'mtu'], 'k8s-invalid-value', `mtu ${mtu} is outside 576–9216`);
      else if (mtu !== undefined) u.mtu = mtu;
    }
    s.underlay = u;
  }
  const dns = decodeClusterDns(d, spec.dns);
  if (dns) s.dns = dns;
  return c;
}

function decodeClusterDns(d: Decoder, v: unknown): Cluster['spec']['dns'] {
  const m = d.map(v, ['spec', 'dns']);
  if (!m) return undefined;
  const out: NonNullable<Cluster['spec']['dns']> = {};
  const ips = each(d, m.clusterDNS, ['spec', 'dns', 'clusterDNS'], (x, p) => d.ip(x, p));
  if (ips) out.clusterDNS = ips;
  const libc = d.oneOf(m.libc, ['spec', 'dns', 'libc'], ['glibc', 'musl'] as const);
  if (libc) out.libc = libc;
  const rc = d.map(m.nodeResolvConf, ['spec', 'dns', 'nodeResolvConf']);
  if (rc) {
    const r: NonNullable<NonNullable<Cluster['spec']['dns']>['nodeResolvConf']> = {};
    const ns = each(d, rc.nameservers, ['spec', 'dns', 'nodeResolvConf', 'nameservers'], (x, p) =>
      d.ip(x, p),
    );
    if (ns) r.nameservers = ns;
    const se = each(d, rc.searches, ['spec', 'dns', 'nodeResolvConf', 'searches'], (x, p) =>
      d.str(x, p),
    );
    if (se) r.searches = se;
    out.nodeResolvConf = r;
  }
  return out;
}

/**
 * `spec.serviceNodePortRange`, as kube-apiserver's `--service-node-port-range`
 * reads it (utilnet.ParsePortRange): `BASE-MAX`, `BASE+SIZE` or one port.
 */
export function parsePortRange(text: string): { base: number; size: number } | undefined {
  const m = /^\s*(\d+)\s*(?:([-+])\s*(\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  const base = Number(m[1]);
  const n = m[3] === undefined ? undefined : Number(m[3]);
  const size = n === undefined ? 1 : m[2] === '+' ? n + 1 : n - base + 1;
  if (base < 1 || base > 65535 || size < 1 || base + size - 1 > 65535) return undefined;
  return { base, size };
}

function decodeNodePortRange(d: Decoder, v: unknown): string | undefined {
  const path = ['spec', 'serviceNodePortRange'];
  const s = typeof v === 'number' ? String(v) : d.str(v, path);
  if (s === undefined) return undefined;
  if (parsePortRange(s) === undefined) {
    d.error(
      path,
      'k8s-invalid-value',
      `serviceNodePortRange ${JSON.stringify(s)} is not a port range`,
      'write it as kube-apiserver --service-node-port-range takes it, e.g. "30000-32767"',
    );
    return undefined;
  }
  return s.trim();
}

/** `spec.cni`: which CNI plugin, with its mode. */
function decodeCni(d: Decoder, v: unknown): CniSpec | undefined {
  const cni = d.map(v, ['spec', 'cni']);
  if (!cni) return undefined;
  const plugin = d.oneOf(cni.plugin, ['spec', 'cni', 'plugin'], [
    'bridge',
    'flannel',
    'calico',
    'kindnet',
    'kubenet',
    'contiv-vpp',
  ] as const);
  if (plugin === 'kindnet') return { plugin };
  if (plugin === 'contiv-vpp') {
    const c: Extract<CniSpec, { plugin: 'contiv-vpp' }> = { plugin };
    const gw = d.ip(cni.gateway, ['spec', 'cni', 'gateway']);
    if (gw) c.gateway = gw;
    return c;
  }
  if (plugin === 'kubenet') {
    const k: Extract<CniSpec, { plugin: 'kubenet' }> = { plugin };
    const hm = d.oneOf(cni.hairpinMode, ['spec', 'cni', 'hairpinMode'], [
      'promiscuous-bridge',
      'hairpin-veth',
      'none',
    ] as const);
    if (hm) k.hairpinMode = hm;
    const nm = d.cidr(cni.nonMasqueradeCIDR, ['spec', 'cni', 'nonMasqueradeCIDR']);
    if (nm) k.nonMasqueradeCIDR = nm;
    return k;
  }
  if (plugin === 'bridge') {
    const b: Extract<CniSpec, { plugin: 'bridge' }> = { plugin };
    const hp = d.bool(cni.hairpinMode, ['spec', 'cni', 'hairpinMode']);
    if (hp !== undefined) b.hairpinMode = hp;
    const im = d.bool(cni.ipMasq, ['spec', 'cni', 'ipMasq']);
    if (im !== undefined) b.ipMasq = im;
    const br = d.str(cni.bridge, ['spec', 'cni', 'bridge']);
    if (br) b.bridge = br;
    return b;
  } else if (plugin === 'flannel') {
    const f: Extract<CniSpec, { plugin: 'flannel' }> = { plugin };
    const be = d.oneOf(cni.backend, ['spec', 'cni', 'backend'], ['vxlan', 'host-gw'] as const);
    if (be) f.backend = be;
    return f;
  } else if (plugin === 'calico') {
    const k: Extract<CniSpec, { plugin: 'calico' }> = { plugin };
    const enc = d.oneOf(cni.encapsulation, ['spec', 'cni', 'encapsulation'], [
      'None',
      'IPIP',
      'VXLAN',
    ] as const);
    if (enc) k.encapsulation = enc;
    const no = d.bool(cni.natOutgoing, ['spec', 'cni', 'natOutgoing']);
    if (no !== undefined) k.natOutgoing = no;
    return k;
  }
  return undefined;
}

/** `spec.kubeProxy`: mode, version and the configuration the proxy's rules depend on. */
function decodeKubeProxy(
  d: Decoder,
  v: unknown,
): NonNullable<Cluster['spec']['kubeProxy']> | undefined {
  const kp = d.map(v, ['spec', 'kubeProxy']);
  if (!kp) return undefined;
  const k: NonNullable<Cluster['spec']['kubeProxy']> = {};
  const mode = d.oneOf(kp.mode, ['spec', 'kubeProxy', 'mode'], [
    'iptables',
    'ipvs',
    'nftables',
  ] as const);
  if (mode) k.mode = mode;
  if (kp.version !== undefined && kp.version !== null) {
    const path = ['spec', 'kubeProxy', 'version'];
    let version: string | undefined;
    if (typeof kp.version === 'number') {
      // YAML reads 1.30 as the number 1.3; take the text as written.
      version = scalarSource(d.ctx.source, path) ?? String(kp.version);
      d.warn(
        path,
        'k8s-version-number',
        `kubeProxy.version is a number; read as "${version}"`,
        `quote it: version: "${version}"`,
      );
    } else version = d.str(kp.version, path);
    if (version !== undefined) {
      const m = /^v?(\d+)\.(\d+)(\.\d+)?$/.exec(version);
      if (!m)
        d.error(
          path,
          'k8s-invalid-value',
          `kubeProxy.version ${JSON.stringify(version)} is not a Kubernetes release like "1.31"`,
          'write MAJOR.MINOR, e.g. "1.31" or "1.27"',
        );
      else k.version = `${m[1]}.${m[2]}`;
    }
  }
  const ma = d.bool(kp.masqueradeAll, ['spec', 'kubeProxy', 'masqueradeAll']);
  if (ma !== undefined) k.masqueradeAll = ma;
  const lnp = d.bool(kp.localhostNodePorts, ['spec', 'kubeProxy', 'localhostNodePorts']);
  if (lnp !== undefined) k.localhostNodePorts = lnp;
  decodeKubeProxyIptables(d, kp, k);
  return k;
}

/** The proxier's iptables settings: local-traffic detector, node port addresses, masquerade. */
function decodeKubeProxyIptables(
  d: Decoder,
  kp: Rec,
  k: NonNullable<Cluster['spec']['kubeProxy']>,
): void {
  const at = (...p: (string | number)[]): (string | number)[] => ['spec', 'kubeProxy', ...p];
  if (kp.clusterCIDR === '') k.clusterCIDR = '';
  else {
    const cc = d.cidr(kp.clusterCIDR, at('clusterCIDR'));
    if (cc) k.clusterCIDR = cc;
  }
  const dlm = d.oneOf(kp.detectLocalMode, at('detectLocalMode'), [
    'ClusterCIDR',
    'NodeCIDR',
    'BridgeInterface',
    'InterfaceNamePrefix',
  ] as const);
  if (dlm) k.detectLocalMode = dlm;
  const dl = d.map(kp.detectLocal, at('detectLocal'));
  if (dl) {
    const bridgeInterface = d.str(dl.bridgeInterface, at('detectLocal', 'bridgeInterface'));
    const interfaceNamePrefix = d.str(
      dl.interfaceNamePrefix,
      at('detectLocal', 'interfaceNamePrefix'),
    );
    k.detectLocal = {
      ...(bridgeInterface ? { bridgeInterface } : {}),
      ...(interfaceNamePrefix ? { interfaceNamePrefix } : {}),
    };
  }
  // kube-proxy refuses to start without the detector's parameter (validateKubeProxyConfiguration).
  if (dlm === 'BridgeInterface' && !k.detectLocal?.bridgeInterface)
    d.error(
      at('detectLocal', 'bridgeInterface'),
      'k8s-required',
      'detectLocalMode BridgeInterface needs detectLocal.bridgeInterface',
      "name the pods' bridge, e.g. cbr0",
    );
  if (dlm === 'InterfaceNamePrefix' && !k.detectLocal?.interfaceNamePrefix)
    d.error(
      at('detectLocal', 'interfaceNamePrefix'),
      'k8s-required',
      'detectLocalMode InterfaceNamePrefix needs detectLocal.interfaceNamePrefix',
      "give the pods' interface name prefix, e.g. veth",
    );
  const npa = each(d, kp.nodePortAddresses, at('nodePortAddresses'), (v, p) =>
    v === 'primary' ? 'primary' : d.cidr(v, p, false),
  );
  if (npa) k.nodePortAddresses = npa;
  if (kp.masqueradeBit !== undefined && kp.masqueradeBit !== null) {
    const bit = d.int(kp.masqueradeBit, at('masqueradeBit'));
    if (bit !== undefined && (bit < 0 || bit > 31))
      d.error(at('masqueradeBit'), 'k8s-invalid-value', `masqueradeBit ${bit} is outside 0–31`);
    else if (bit !== undefined) k.masqueradeBit = bit;
  }
  const rf = d.bool(kp.randomFully, at('randomFully'));
  if (rf !== undefined) k.randomFully = rf;
  const wi = d.map(kp.whatIf, at('whatIf'));
  if (wi) {
    const nem = each(d, wi.noExternalMasquerade, at('whatIf', 'noExternalMasquerade'), (v, p) => {
      const s = d.str(v, p);
      if (s !== undefined && !/^[a-z0-9.-]+\/[a-z0-9.-]+$/.test(s)) {
        d.error(p, 'k8s-invalid-value', `"${s}" is not a Service as namespace/name`);
        return undefined;
      }
      return s;
    });
    k.whatIf = nem ? { noExternalMasquerade: nem } : {};
  }
}

export function decodeExternalHost(d: Decoder, raw: Rec): ExternalHost | undefined {
  const metadata = d.meta(raw, 'ExternalHost', false);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const address = d.ip(spec.address, ['spec', 'address']);
  if (!d.required(spec.address ?? undefined, ['spec', 'address'], 'spec.address') || !address)
    return undefined;
  const h: ExternalHost = {
    apiVersion: 'packeteye.dev/v1alpha1',
    kind: 'ExternalHost',
    metadata,
    spec: { address },
  };
  const listen = each(d, spec.listen, ['spec', 'listen'], (v, p) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const port = d.port(m.port, step(p, 'port'));
    if (port === undefined) return undefined;
    const protocol = d.protocol(m.protocol, step(p, 'protocol'));
    return { port, ...(protocol ? { protocol } : {}) };
  });
  if (listen) h.spec.listen = listen;
  const names = each(d, spec.dnsNames, ['spec', 'dnsNames'], (v, p) => d.str(v, p));
  if (names && names.length > 0) h.spec.dnsNames = names;
  return h;
}
