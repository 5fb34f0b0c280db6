/**
 * Reading a live cluster through the user's own `kubectl` (so every kubeconfig
 * auth plugin keeps working): the pure half. Which kinds a question needs, the
 * argv of each read-only `kubectl get`, and what kubectl's stderr means —
 * a kind the user may not list (RBAC), a kind the server does not have (a CRD
 * not installed), or a cluster that cannot be reached at all. Running the
 * process is live/run.ts; the loop that ties them is live/fetch.ts.
 *
 * Only `kubectl get` and `kubectl config view` are ever built here: nothing
 * writes to the cluster.
 */

/** One kind a question reads: its kubectl resource name and what is unknown without it. */
export interface KindSpec {
  /** `kubectl get` resource, fully qualified when it has a group (`endpointslices.discovery.k8s.io`). */
  readonly resource: string;
  /** all: every namespace (`-A`, cluster-scoped kinds too); kube-system: that namespace only. */
  readonly scope: 'all' | 'kube-system';
  /** A CRD that may not be installed: its absence is not worth a warning. */
  readonly optional?: boolean;
  /** Whether the kind is namespaced (a forbidden namespaced kind may be read in one namespace). */
  readonly namespaced: boolean;
  /** What packeteye does not know when the kind cannot be read. */
  readonly unknown: string;
}

const K = (
  resource: string,
  namespaced: boolean,
  unknown: string,
  extra: Partial<KindSpec> = {},
): KindSpec => ({ resource, scope: 'all', namespaced, unknown, ...extra });

/** What `trace` and `rules` read: the objects the twin is built from, and what detection reads. */
export const TWIN_KINDS: readonly KindSpec[] = [
  K('nodes', false, 'the nodes (addresses, podCIDRs): nothing can be traced'),
  K('namespaces', false, 'namespace labels (namespaceSelector policies match none)'),
  K('pods', true, 'the pods: nothing can be traced'),
  K('services', true, 'the Services: kube-proxy gets no Service rules'),
  K(
    'endpointslices.discovery.k8s.io',
    true,
    "Services' endpoints (derived from selectors instead)",
  ),
  K('networkpolicies.networking.k8s.io', true, 'NetworkPolicies: every pod is treated as open'),
  K('ingresses.networking.k8s.io', true, 'Ingresses (trace --http has no routes)'),
  K('daemonsets.apps', true, 'DaemonSets (the CNI and kube-proxy are detected from less)'),
  K('configmaps', true, 'kube-system ConfigMaps (kube-proxy, kubeadm and flannel configuration)', {
    scope: 'kube-system',
  }),
  K('ippools.crd.projectcalico.org', false, "Calico's IP pools", { optional: true }),
];

/** What `reach` reads: pods, namespaces and the policies over them. */
export const POLICY_KINDS: readonly KindSpec[] = [
  K('namespaces', false, 'namespace labels (namespaceSelector policies match none)'),
  K('pods', true, 'the pods: the matrix is empty'),
  K('networkpolicies.networking.k8s.io', true, 'NetworkPolicies: every pod is treated as open'),
  K('adminnetworkpolicies.policy.networking.k8s.io', false, 'AdminNetworkPolicies', {
    optional: true,
  }),
  K(
    'baselineadminnetworkpolicies.policy.networking.k8s.io',
    false,
    'BaselineAdminNetworkPolicies',
    {
      optional: true,
    },
  ),
];

/** The kubeconfig flags, as kubectl has them. */
export interface KubeTarget {
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** Seconds kubectl waits for one request (`--request-timeout`). */
export const DEFAULT_REQUEST_TIMEOUT_S = 20;

export function targetArgs(t: KubeTarget): string[] {
  return [
    ...(t.kubeconfig !== undefined ? ['--kubeconfig', t.kubeconfig] : []),
    ...(t.context !== undefined ? ['--context', t.context] : []),
  ];
}

/** `kubectl config view --minify -o json`: reads the kubeconfig only, never the network. */
export function configViewArgs(t: KubeTarget): string[] {
  return [...targetArgs(t), 'config', 'view', '--minify', '-o', 'json'];
}

/** One read-only listing: `kubectl get R1,R2,... (-A | -n NS) -o json --request-timeout=Ns`. */
export function getArgs(
  t: KubeTarget,
  resources: readonly string[],
  namespace: { all: true } | { name: string },
  timeoutS: number,
): string[] {
  return [
    ...targetArgs(t),
    'get',
    resources.join(','),
    ...('all' in namespace ? ['--all-namespaces'] : ['--namespace', namespace.name]),
    '--output',
    'json',
    `--request-timeout=${timeoutS}s`,
  ];
}

/** The context kubectl will talk to, from `kubectl config view --minify -o json`. */
export interface ContextInfo {
  readonly context: string;
  readonly cluster: string;
  readonly server: string;
  readonly user: string;
}

export function parseConfigView(json: string): ContextInfo | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  const o = v as {
    'current-context'?: string;
    contexts?: { name?: string; context?: { cluster?: string; user?: string } }[];
    clusters?: { name?: string; cluster?: { server?: string } }[];
  };
  const ctx = o.contexts?.[0];
  const cl = o.clusters?.[0];
  if (!ctx && !cl) return undefined;
  return {
    context: o['current-context'] ?? ctx?.name ?? '',
    cluster: ctx?.context?.cluster ?? cl?.name ?? '',
    server: cl?.cluster?.server ?? '',
    user: ctx?.context?.user ?? '',
  };
}

/** What one failed (or partly failed) `kubectl get` said on stderr. */
export interface GetFailure {
  /** Resources the user may not list (RBAC), with kubectl's own sentence. */
  readonly forbidden: { resource: string; message: string }[];
  /** Resources the server does not serve (a CRD not installed). */
  readonly absent: string[];
  /** A failure of the whole read: nothing can be known. */
  readonly fatal?: { kind: FatalKind; message: string };
}

export type FatalKind = 'unreachable' | 'timeout' | 'unauthorized' | 'tls' | 'config' | 'other';

const TIMEOUT_RE =
  /Client\.Timeout exceeded|context deadline exceeded|i\/o timeout|TLS handshake timeout|unable to return a response in the time allotted|Timeout: request did not complete/i;
const UNREACHABLE_RE =
  /Unable to connect to the server|connection to the server .* was refused|no such host|connection refused|network is unreachable|no route to host/i;

/** The resource named in a kubectl error, matched back to one we asked for. */
function matchResource(named: string, asked: readonly string[]): string {
  const exact = asked.find((r) => r === named);
  if (exact) return exact;
  const base = named.split('.')[0]!;
  return asked.find((r) => r.split('.')[0] === base) ?? named;
}

/**
 * Reads kubectl's stderr. Per-kind problems (Forbidden, unknown resource
 * type) are listed so the caller can read the rest; anything that stops the
 * whole read is `fatal`, classified for a clear message.
 */
export function classifyGetError(stderr: string, asked: readonly string[]): GetFailure {
  const forbidden: { resource: string; message: string }[] = [];
  const absent: string[] = [];
  let fatal: GetFailure['fatal'];
  // klog's own lines (`E1207 04:04:45.464486 23840 memcache.go:265] …`) repeat what
  // kubectl's last line says plainly; read them only when there is nothing else.
  const all = stderr.split('\n').filter((l) => l.trim() !== '');
  const plain = all.filter((l) => !/^[IWEF]\d{4} \d\d:\d\d:\d\d/.test(l));
  for (const raw of plain.length > 0 ? plain : all) {
    const line = raw.trim();
    if (line === '') continue;
    // Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" …
    const fb =
      /^Error from server \(Forbidden\): (?:error when retrieving current configuration of:.*?)?([\w.-]+)(?: "[^"]*")? is forbidden: (.*)$/.exec(
        line,
      );
    if (fb) {
      const resource = matchResource(fb[1]!, asked);
      if (!forbidden.some((f) => f.resource === resource))
        forbidden.push({ resource, message: fb[2]! });
      continue;
    }
    // error: the server doesn't have a resource type "ippools"
    const ab = /the server doesn't have a resource type "([^"]+)"/.exec(line);
    if (ab) {
      absent.push(matchResource(ab[1]!, asked));
      continue;
    }
    // error: resource mapping not found / no matches for kind
    const nm =
      /no matches for kind "([^"]+)"|could not find the requested resource.*?([\w.-]+)?$/.exec(
        line,
      );
    if (nm && nm[1]) {
      absent.push(matchResource(nm[1].toLowerCase(), asked));
      continue;
    }
    if (fatal) continue;
    if (TIMEOUT_RE.test(line)) fatal = { kind: 'timeout', message: line };
    else if (/x509:|certificate/i.test(line)) fatal = { kind: 'tls', message: line };
    else if (UNREACHABLE_RE.test(line)) fatal = { kind: 'unreachable', message: line };
    else if (/Unauthorized|must be logged in|unauthorized/.test(line))
      fatal = { kind: 'unauthorized', message: line };
    else if (
      /current-context is not set|context ".*" does not exist|cannot locate context|no configuration has been provided|invalid configuration|error loading config|stat .*kubeconfig|no such file/i.test(
        line,
      )
    )
      fatal = { kind: 'config', message: line };
    else if (/^(error|Error from server)/.test(line)) fatal = { kind: 'other', message: line };
  }
  return { forbidden, absent, ...(fatal ? { fatal } : {}) };
}

/** What to check, per kind of failure: the `hint` of the exit-2 error. */
export function fatalHint(kind: FatalKind, ctx: ContextInfo | undefined): string {
  const where = ctx ? `context ${ctx.context} (server ${ctx.server || 'unknown'})` : 'the context';
  switch (kind) {
    case 'timeout':
      return `the API server of ${where} did not answer in time: check the VPN/network path, or raise --request-timeout; or read a dump with -f`;
    case 'unreachable':
      return `check that ${where} is the cluster you mean (kubectl config current-context), that the server is up and reachable from here (VPN, proxy, firewall); or read a dump with -f`;
    case 'tls':
      return `kubectl does not trust the server's certificate for ${where}: check certificate-authority-data in the kubeconfig`;
    case 'unauthorized':
      return `the credentials of ${where} were refused: log in again (e.g. refresh the auth plugin's token) and retry`;
    case 'config':
      return 'check --kubeconfig / KUBECONFIG and --context (kubectl config get-contexts lists them)';
    default:
      return `run the same kubectl command by hand to see more; or read a dump with -f`;
  }
}

/** A `kubectl get -o json` output: a List whose items are the objects. */
export function parseListJson(text: string): { items: unknown[] } | undefined {
  try {
    const v = JSON.parse(text) as { kind?: string; items?: unknown[] };
    if (v && Array.isArray(v.items)) return { items: v.items };
    if (v && typeof v.kind === 'string') return { items: [v] };
  } catch {
    return undefined;
  }
  return undefined;
}
