/**
 * A node's own state, collected: the bundle format (packeteye.dev/v1alpha1
 * NodeState) and the one shell script that collects it, run as root on the
 * node itself (`packeteye node collect`), in a network namespace (`ip netns
 * exec NS packeteye node collect`) or through `kubectl debug node/NODE`
 * (`chroot /host sh -c SCRIPT`). The script prints each tool's output between
 * markers; parseCollectOutput turns that into the bundle's files. Pure: the
 * running is live/run.ts, the writing cli/node.ts.
 *
 * A bundle is a directory:
 *
 *   manifest.yaml        apiVersion: packeteye.dev/v1alpha1, kind: NodeState,
 *                        metadata.name (the node's hostname), spec.collectedAt,
 *                        spec.kernel, spec.iptablesMode, spec.files[] (name,
 *                        command, exitCode, missing), spec.warnings[]
 *   iptables-legacy.save iptables-legacy-save, when that tool exists
 *   iptables-nft.save    iptables-nft-save, when that tool exists
 *   iptables.save        iptables-save, when neither variant exists
 *   ip6tables-*.save     the same for IPv6
 *   ipset.save           ipset save
 *   nft.ruleset          nft -a list ruleset (with handles, so rule hits name them)
 *   ip-addr.json ip-link.json ip-route.json ip6-route.json ip-rule.json ip-neigh.json
 *                        ip -j addr / link / route show table all / -6 route show table all
 *                        / rule / neigh
 *   bridge-fdb.json      bridge -j fdb show
 *   conntrack.txt        conntrack -L
 *   sysctl.txt           `key = value` for the sysctls the model reads
 *
 * A missing tool is recorded in the manifest (missing: true), never fatal.
 */
import { yaml } from '../k8s/yaml-lib.js';
import { CONF_DEFAULTS, GLOBAL_DEFAULTS } from '../kernel/sysctl.js';

export const BUNDLE_API_VERSION = 'packeteye.dev/v1alpha1';
export const BUNDLE_KIND = 'NodeState';
export const MANIFEST = 'manifest.yaml';

/** One thing collected: the file it goes to, the tool it needs and the command line. */
export interface CollectItem {
  readonly file: string;
  readonly tool: string;
  readonly command: string;
}

export const COLLECT_ITEMS: readonly CollectItem[] = [
  { file: 'iptables-legacy.save', tool: 'iptables-legacy-save', command: 'iptables-legacy-save' },
  { file: 'iptables-nft.save', tool: 'iptables-nft-save', command: 'iptables-nft-save' },
  {
    file: 'ip6tables-legacy.save',
    tool: 'ip6tables-legacy-save',
    command: 'ip6tables-legacy-save',
  },
  { file: 'ip6tables-nft.save', tool: 'ip6tables-nft-save', command: 'ip6tables-nft-save' },
  { file: 'ipset.save', tool: 'ipset', command: 'ipset save' },
  { file: 'nft.ruleset', tool: 'nft', command: 'nft -a list ruleset' },
  { file: 'ip-addr.json', tool: 'ip', command: 'ip -j addr show' },
  { file: 'ip-link.json', tool: 'ip', command: 'ip -j -d link show' },
  { file: 'ip-route.json', tool: 'ip', command: 'ip -j route show table all' },
  { file: 'ip6-route.json', tool: 'ip', command: 'ip -j -6 route show table all' },
  { file: 'ip-rule.json', tool: 'ip', command: 'ip -j rule show' },
  { file: 'ip-neigh.json', tool: 'ip', command: 'ip -j neigh show' },
  { file: 'bridge-fdb.json', tool: 'bridge', command: 'bridge -j fdb show' },
  { file: 'conntrack.txt', tool: 'conntrack', command: 'conntrack -L' },
];

/** When neither variant of a save tool exists, the plain one (older distributions). */
const FALLBACKS: readonly (CollectItem & { unless: readonly string[] })[] = [
  {
    file: 'iptables.save',
    tool: 'iptables-save',
    command: 'iptables-save',
    unless: ['iptables-legacy-save', 'iptables-nft-save'],
  },
  {
    file: 'ip6tables.save',
    tool: 'ip6tables-save',
    command: 'ip6tables-save',
    unless: ['ip6tables-legacy-save', 'ip6tables-nft-save'],
  },
];

const BEGIN = '@@PACKETEYE-BEGIN';
const END = '@@PACKETEYE-END';
const MISSING = '@@PACKETEYE-MISSING';

/** The sysctls the kernel model gives meaning to (kernel/sysctl.ts), per device and global. */
export function sysctlKeys(): { conf: string[]; global: string[] } {
  return {
    conf: Object.keys(CONF_DEFAULTS),
    global: ['net.ipv4.ip_forward', ...Object.keys(GLOBAL_DEFAULTS)],
  };
}

function section(name: string, body: string): string {
  return `echo '${BEGIN} ${name}'\n${body}\necho; echo "${END} ${name} rc=$rc"\n`;
}

function runItem(it: CollectItem): string {
  return (
    `if command -v ${it.tool} >/dev/null 2>&1; then\n` +
    section(it.file, `${it.command} 2>"$T/err"; rc=$?`) +
    `if [ -s "$T/err" ]; then rc=0; ${section(`${it.file}.stderr`, 'cat "$T/err"; rc=0').trimEnd()}; fi\n` +
    `else echo '${MISSING} ${it.file} ${it.tool}'; fi\n`
  );
}

/**
 * The POSIX sh script that collects a bundle on stdout. It only reads: every
 * command lists or saves, none changes the node.
 */
export function collectScript(): string {
  const { conf, global } = sysctlKeys();
  const lines = [
    'set +e',
    'T=$(mktemp -d 2>/dev/null || echo /tmp/packeteye.$$); mkdir -p "$T"',
    'PATH="$PATH:/usr/sbin:/sbin:/usr/bin:/bin"',
    section('hostname', 'cat /proc/sys/kernel/hostname; rc=$?'),
    section('uname', 'uname -r; rc=$?'),
    section('date', 'date -u +%Y-%m-%dT%H:%M:%SZ; rc=$?'),
    section('uid', 'id -u; rc=$?'),
    ...COLLECT_ITEMS.map(runItem),
    ...FALLBACKS.map(
      (f) =>
        `if ! { ${f.unless.map((u) => `command -v ${u} >/dev/null 2>&1`).join(' || ')}; }; then\n${runItem(f)}fi\n`,
    ),
    section(
      'sysctl.txt',
      [
        `for k in ${global.join(' ')}; do f=/proc/sys/$(echo "$k" | tr . /); [ -r "$f" ] && echo "$k = $(cat "$f")"; done`,
        `for d in /proc/sys/net/ipv4/conf/*; do n=\${d##*/}; case "$n" in *.*) continue;; esac; for k in ${conf.join(' ')}; do [ -r "$d/$k" ] && echo "net.ipv4.conf.$n.$k = $(cat "$d/$k")"; done; done`,
        'rc=0',
      ].join('\n'),
    ),
    'rm -rf "$T"',
  ];
  return lines.join('\n');
}

export interface BundleFile {
  readonly name: string;
  readonly command: string;
  readonly exitCode?: number;
  readonly missing?: boolean;
  /** What the tool said on stderr, when anything. */
  readonly stderr?: string;
}

export interface NodeStateManifest {
  readonly apiVersion: typeof BUNDLE_API_VERSION;
  readonly kind: typeof BUNDLE_KIND;
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly collectedAt?: string;
    readonly kernel?: string;
    /** Which iptables back end holds rules: legacy, nft, both, or none seen. */
    readonly iptablesMode: 'legacy' | 'nft' | 'both' | 'unknown' | 'none';
    readonly files: readonly BundleFile[];
    readonly warnings: readonly string[];
  };
}

export interface Bundle {
  readonly manifest: NodeStateManifest;
  /** File name → content (the manifest not included). */
  readonly files: ReadonlyMap<string, string>;
}

/** Whether an iptables-save text holds any rule or user chain (not just empty built-in tables). */
export function holdsRules(save: string | undefined): boolean {
  if (save === undefined) return false;
  return save
    .split('\n')
    .some(
      (l) =>
        l.startsWith('-A ') || /^:(?!INPUT |FORWARD |OUTPUT |PREROUTING |POSTROUTING )/.test(l),
    );
}

/** The bundle from the collect script's stdout. */
export function parseCollectOutput(stdout: string): Bundle {
  const texts = new Map<string, { text: string; rc: number }>();
  const missing: { file: string; tool: string }[] = [];
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = new RegExp(`^${MISSING} (\\S+) (\\S+)$`).exec(line);
    if (m) {
      missing.push({ file: m[1]!, tool: m[2]! });
      continue;
    }
    const b = new RegExp(`^${BEGIN} (\\S+)$`).exec(line);
    if (!b) continue;
    const name = b[1]!;
    const body: string[] = [];
    let rc = -1;
    for (i++; i < lines.length; i++) {
      const e = new RegExp(
        `^${END} ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} rc=(\\d+)$`,
      ).exec(lines[i]!);
      if (e) {
        rc = Number(e[1]);
        break;
      }
      body.push(lines[i]!);
    }
    // The script adds one newline after each output so the end marker starts a line.
    let text = body.join('\n');
    if (text.endsWith('\n')) text = text.slice(0, -1);
    else if (body.length > 0 && body[body.length - 1] === '') text = body.slice(0, -1).join('\n');
    texts.set(name, { text, rc });
  }
  const meta = (k: string) => texts.get(k)?.text.trim();
  const warnings: string[] = [];
  if (meta('uid') !== undefined && meta('uid') !== '0')
    warnings.push(
      `collected as uid ${meta('uid')}, not root: iptables-save, ipset and conntrack need root and may be empty`,
    );
  const files = new Map<string, string>();
  const listed: BundleFile[] = [];
  const commandOf = (f: string) =>
    [...COLLECT_ITEMS, ...FALLBACKS].find((c) => c.file === f)?.command ?? f;
  for (const [name, { text, rc }] of texts) {
    if (['hostname', 'uname', 'date', 'uid'].includes(name) || name.endsWith('.stderr')) continue;
    const stderr = texts.get(`${name}.stderr`)?.text.trim();
    files.set(name, text.endsWith('\n') || text === '' ? text : `${text}\n`);
    listed.push({
      name,
      command: name === 'sysctl.txt' ? 'cat /proc/sys/…' : commandOf(name),
      exitCode: rc,
      ...(stderr ? { stderr } : {}),
    });
    if (rc !== 0)
      warnings.push(`${commandOf(name)} exited ${rc}${stderr ? `: ${stderr.split('\n')[0]}` : ''}`);
  }
  for (const m of missing) {
    // The plain tool is only missing if neither variant was there either.
    listed.push({ name: m.file, command: commandOf(m.file), missing: true });
  }
  const legacy = holdsRules(files.get('iptables-legacy.save'));
  const nft = holdsRules(files.get('iptables-nft.save'));
  const plain = files.has('iptables.save');
  const iptablesMode =
    legacy && nft ? 'both' : legacy ? 'legacy' : nft ? 'nft' : plain ? 'unknown' : 'none';
  if (iptablesMode === 'both')
    warnings.push(
      'both iptables back ends hold rules (legacy and nft): the kernel runs both; packeteye reads the one with more rules',
    );
  const manifest: NodeStateManifest = {
    apiVersion: BUNDLE_API_VERSION,
    kind: BUNDLE_KIND,
    metadata: { name: meta('hostname') ?? 'unknown' },
    spec: {
      ...(meta('date') ? { collectedAt: meta('date')! } : {}),
      ...(meta('uname') ? { kernel: meta('uname')! } : {}),
      iptablesMode,
      files: listed.sort((a, b) => a.name.localeCompare(b.name)),
      warnings,
    },
  };
  return { manifest, files };
}

export function formatManifest(m: NodeStateManifest): string {
  return yaml().stringify(m, { lineWidth: 0 });
}

/** Reads a manifest back; undefined with a reason when it is not a NodeState of this version. */
export function parseManifest(text: string): { manifest?: NodeStateManifest; problem?: string } {
  let v: unknown;
  try {
    v = yaml().parse(text);
  } catch (e) {
    return { problem: `not YAML: ${(e as Error).message.split('\n')[0]}` };
  }
  const m = v as Partial<NodeStateManifest> | null;
  if (!m || m.kind !== BUNDLE_KIND)
    return { problem: `kind is ${JSON.stringify(m?.kind)}, not ${BUNDLE_KIND}` };
  if (m.apiVersion !== BUNDLE_API_VERSION)
    return {
      problem: `apiVersion ${JSON.stringify(m.apiVersion)} is not ${BUNDLE_API_VERSION} (a newer packeteye wrote it?)`,
    };
  if (!m.spec || !Array.isArray(m.spec.files)) return { problem: 'spec.files is missing' };
  return { manifest: m as NodeStateManifest };
}

/** The iptables-save text the bundle's node runs (IPv4), and which file it came from. */
export function primaryIptables(
  b: Bundle,
  family: 4 | 6 = 4,
): { file: string; text: string } | undefined {
  const p = family === 4 ? 'iptables' : 'ip6tables';
  const cands = [`${p}-nft.save`, `${p}-legacy.save`, `${p}.save`]
    .filter((f) => b.files.has(f))
    .map((f) => ({ file: f, text: b.files.get(f)! }));
  if (cands.length === 0) return undefined;
  const count = (t: string) => t.split('\n').filter((l) => l.startsWith('-A ')).length;
  return cands.reduce((best, c) => (count(c.text) > count(best.text) ? c : best));
}

/** The arguments of `kubectl debug node/NODE` that run the collect script in the node's namespaces. */
export function debugNodeArgs(
  target: { kubeconfig?: string; context?: string },
  node: string,
  opts: { image: string; namespace: string; profile: string },
): string[] {
  return [
    ...(target.kubeconfig !== undefined ? ['--kubeconfig', target.kubeconfig] : []),
    ...(target.context !== undefined ? ['--context', target.context] : []),
    '--namespace',
    opts.namespace,
    'debug',
    `node/${node}`,
    '--stdin',
    `--image=${opts.image}`,
    // kubectl before 1.26 has no --profile (its node debug pods are not privileged: iptables-save fails)
    ...(opts.profile === '' || opts.profile === 'legacy' ? [] : [`--profile=${opts.profile}`]),
    '--',
    'chroot',
    '/host',
    'sh',
    '-c',
    collectScript(),
  ];
}

/** Whether the collect script's output is complete (its last section ended). */
export function collectComplete(stdout: string): boolean {
  return /^@@PACKETEYE-END sysctl\.txt rc=\d+$/m.test(stdout);
}

/** The debug pod kubectl created, from its "Creating debugging pod NAME with container …" line. */
export function debugPodName(stderr: string): string | undefined {
  return /Creating debugging pod (\S+) with container/.exec(stderr)?.[1];
}
