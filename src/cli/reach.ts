/**
 * `packeteye reach`: the reachability matrix NetworkPolicy and
 * AdminNetworkPolicy leave between pods (and the external ranges their
 * ipBlocks carve out), per port or as full port sets, and `--explain FROM TO`
 * for one pair.
 *
 * `-o json|yaml` writes the Reachability document (render/reach-document.ts,
 * schema/reachability.schema.json): groups of endpoints and the port sets
 * allowed between them. Up to PER_POD_UP_TO pods every group is one endpoint
 * (the per-pod matrix); above, the groups are the policies' equivalence
 * classes, so 150,000 pods fit in megabytes. `--per-pod` and `--grouped` choose.
 */
import type { Command } from 'commander';
import { InputError, type Diagnostic } from '../diag.js';
import { type Endpoint, type PolicyWorld, type SourceObject } from '../policy/model.js';
import { buildPolicyWorld } from '../policy/world.js';
import { computeMatrix, type ReachMatrix } from '../policy/matrix.js';
import { renderMatrix } from '../render/reach.js';
import { evaluatePair } from '../policy/evaluate.js';
import type { PortQuery } from '../policy/explain.js';
import { PROTOCOLS, type L4Protocol } from '../policy/ports.js';
import { ipToInt, isIpv4 } from '../wire/addr.js';
import { RegionIndex } from '../policy/externals.js';
import { policyEnforcement } from '../policy/enforcer.js';
import type { Cluster } from '../k8s/types.js';
import type { Io } from './io.js';
import { STRICT_HELP, readCluster, report } from './cluster.js';
import { runReachDiff } from './reach-diff.js';
import { writeExplanation } from './explain.js';
import { renderReachDot, renderReachMermaid } from '../render/reach-graph.js';
import { count, progress, toYaml } from './output.js';
import {
  reachabilityDocument,
  writeReachability,
  writeReachabilityYaml,
} from '../render/reach-document.js';
import { HTML_MATRIX_MAX_GROUPS, renderReachHtml } from '../render/reach-html.js';

type Format = 'table' | 'wide' | 'json' | 'yaml' | 'csv' | 'md' | 'dot' | 'mermaid' | 'html';
const FORMATS: readonly Format[] = [
  'table',
  'wide',
  'json',
  'yaml',
  'csv',
  'md',
  'dot',
  'mermaid',
  'html',
];

/** Up to this many pods (after -n), `-o json|yaml` gives the per-pod matrix unless told otherwise. */
export const PER_POD_UP_TO = 1000;

interface ReachOptions {
  perPod?: boolean;
  grouped?: boolean;
  file?: string[];
  port?: string;
  namespace?: string;
  output?: string;
  explain?: string[];
  externals?: boolean;
  diff?: boolean;
  against?: string[];
  maxTraces?: string;
  strict?: boolean;
}

/**
 * The policy world's objects from the cluster model every command reads
 * (`readCluster`): pods with the addresses the model gives them (IPAM defaults
 * included) and the policies, each with where it came from, and every other
 * object (Namespaces, Services, the Cluster) as loaded. `diagnostics` are the
 * cluster reading's warnings (already written, or thrown under `--strict`).
 */
export function loadSources(
  io: Io,
  files: readonly string[],
  strict = false,
): { sources: SourceObject[]; diagnostics: Diagnostic[]; cluster: Cluster | undefined } {
  const { session, diagnostics } = readCluster(io, files, { strict });
  const { sources, cluster } = session.policySources();
  return { sources: [...sources], diagnostics: [...diagnostics], cluster };
}

export function parsePortQuery(text: string): PortQuery {
  const m = /^([A-Za-z]+)\/(\d+)$/.exec(text.trim());
  const proto = m?.[1]?.toUpperCase();
  const port = Number(m?.[2]);
  if (
    !m ||
    !(PROTOCOLS as readonly string[]).includes(proto!) ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535
  ) {
    throw InputError.of(
      'reach-bad-port',
      `--port ${JSON.stringify(text)} is not PROTOCOL/PORT`,
      { field: '--port' },
      'write e.g. TCP/80, UDP/53 or SCTP/9003 (port 1-65535)',
    );
  }
  return { protocol: proto as L4Protocol, port };
}

/** Finds the endpoint for `ns/pod`, `pod` (in -n NS or default), a pod IP, or an external address/CIDR. */
function resolveRef(
  world: PolicyWorld,
  m: ReachMatrix,
  ref: string,
  ns: string | undefined,
  arg: string,
): Endpoint {
  // An endpoint key as the matrix prints it: `ns/pod`, or an external range's CIDR.
  const exact = m.indexOf(ref);
  if (exact !== undefined) return m.endpoints[exact]!;
  const key =
    ref.includes('/') && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(ref) ? ref : `${ns ?? 'default'}/${ref}`;
  const i = m.indexOf(key);
  if (i !== undefined) return m.endpoints[i]!;
  const ip = ref.split('/')[0]!;
  if (isIpv4(ip)) {
    const n = ipToInt(ip);
    const pod = world.pods.find((p) => p.ipInt === n);
    if (pod) return pod;
    // An address outside the pods: the external range it falls in.
    const region = new RegionIndex(world.cidrs).regionOf(n);
    const j = m.indexOf(region);
    if (j !== undefined) return m.endpoints[j]!;
    return { kind: 'external', key: region, cidr: region, except: [], probe: n };
  }
  const [nsPart] = key.split('/');
  const known = world.namespaces.has(nsPart!);
  const near = world.pods
    .filter((p) => p.name === key.split('/')[1] || p.namespace === nsPart)
    .slice(0, 5)
    .map((p) => p.key);
  throw InputError.of(
    'reach-unknown-pod',
    known
      ? `${arg}: no pod ${key}`
      : `${arg}: unknown namespace ${JSON.stringify(nsPart)} (in ${JSON.stringify(ref)})`,
    { field: '--explain' },
    near.length
      ? `known pods include ${near.join(', ')}`
      : 'name a pod as NAMESPACE/NAME, or give an IP address',
  );
}

const EXAMPLES = `
Examples:
  # Who may talk to whom on TCP/80 under the NetworkPolicies
  packeteye reach -f examples/three-tier-policy.yaml --port TCP/80

  # Why one pair is (not) allowed, as YAML
  packeteye reach -f examples/three-tier-policy.yaml -n store --explain fe-1 db-1 -o yaml

  # One namespace's matrix as CSV, the manifests on stdin (-f DIR reads a directory)
  cat examples/three-tier-policy.yaml | packeteye reach -f - -n store -o csv
`;

import { clusterSources, FILE_HELP, type LiveOpts } from './live.js';
import { POLICY_KINDS } from '../live/kubectl.js';

export function register(program: Command, io: Io): void {
  program
    .command('reach')
    .description('Reachability matrix between pods under NetworkPolicy and AdminNetworkPolicy')
    .option('-f, --file <files...>', FILE_HELP)
    .option('--port <proto/port>', 'one port: a boolean matrix (e.g. TCP/80)')
    .option('-n, --namespace <ns>', 'only pods in this namespace (rows and columns)')
    .option(
      '-o, --output <format>',
      "table | wide (with each pod's IP) | json | yaml | csv | md | dot | mermaid (by workload) | html (a page of the groups)",
      'table',
    )
    .option('--explain <pods...>', 'explain one pair: FROM TO (ns/pod or IP)')
    .option(
      '--per-pod',
      `-o json|yaml: one group per pod (the default up to ${PER_POD_UP_TO} pods)`,
    )
    .option(
      '--grouped',
      '-o json|yaml: pods the policies treat alike as one group (the default above)',
    )
    .option('--no-externals', 'leave out the external ranges ipBlocks carve out')
    .option('--diff', 'what a change opens and cuts: -f BEFORE… --against AFTER…')
    .option(
      '--against <files...>',
      'with --diff: the cluster after the change (files or directories)',
    )
    .option(
      '--max-traces <n>',
      'with --diff: connections a data-plane change can affect, traced at most (0: none)',
    )
    .option('--strict', STRICT_HELP)
    .addHelpText('after', EXAMPLES)
    .action(async (opts: ReachOptions & LiveOpts) => {
      const format = (opts.output ?? 'table') as Format;
      if (opts.diff) return runReachDiff(io, opts.file ?? [], opts.against, format, opts.maxTraces);
      if (!FORMATS.includes(format)) {
        throw InputError.of(
          'reach-bad-output',
          `-o ${JSON.stringify(opts.output)} is not one of ${FORMATS.join(', ')}`,
          { field: '--output' },
          'e.g. -o json, -o yaml or -o csv',
        );
      }
      if (opts.perPod && opts.grouped)
        throw InputError.of(
          'reach-bad-grouping',
          '--per-pod and --grouped ask for two shapes of one document',
          { field: '--grouped' },
          'give one of them',
        );
      const q = opts.port !== undefined ? parsePortQuery(opts.port) : undefined;
      if (opts.explain !== undefined && opts.explain.length !== 2) {
        throw InputError.of(
          'reach-bad-explain',
          `--explain takes two endpoints, FROM and TO; got ${opts.explain.length}`,
          { field: '--explain' },
          'e.g. --explain x/a y/b',
        );
      }
      const src = await clusterSources(io, opts, POLICY_KINDS, opts.namespace);
      const loaded = loadSources(src.io, src.files, opts.strict === true);
      const world = buildPolicyWorld(loaded.sources);
      // One root cause, one diagnostic: what the cluster reading already said about an
      // object's field is not said again.
      const said = new Set(loaded.diagnostics.map((d) => `${d.object}\u0000${d.field}`));
      const diagnostics = world.diagnostics.filter((d) => !said.has(`${d.object}\u0000${d.field}`));
      const enforcement = policyEnforcement(
        loaded.cluster,
        world.policies.length + world.admin.length + (world.baseline ? 1 : 0),
      );
      if (enforcement.diagnostic) diagnostics.push(enforcement.diagnostic);
      report(io, diagnostics, { strict: opts.strict === true });
      if (opts.namespace !== undefined && !world.namespaces.has(opts.namespace)) {
        throw InputError.of(
          'reach-unknown-namespace',
          `-n: no namespace ${JSON.stringify(opts.namespace)} in the input`,
          { field: '--namespace' },
          `namespaces: ${[...world.namespaces.keys()].sort().join(', ')}`,
        );
      }

      const p = progress(io);
      p.update(
        `computing the matrix for ${count(world.pods.length)} pods, ${count(world.policies.length + world.admin.length)} policies…`,
      );
      let m: ReachMatrix;
      try {
        m = computeMatrix(world);
      } finally {
        p.done();
      }
      if (opts.explain !== undefined) {
        const from = resolveRef(world, m, opts.explain[0]!, opts.namespace, 'FROM');
        const to = resolveRef(world, m, opts.explain[1]!, opts.namespace, 'TO');
        const pair = evaluatePair(world, from, to);
        writeExplanation(io, world, loaded.sources, pair, q, format);
        return;
      }
      const externals = opts.externals !== false;
      if (format === 'html') {
        const doc = reachabilityDocument(world, m, {
          grouping: opts.perPod ? 'pods' : 'groups',
          externals,
          ...(q ? { port: q } : {}),
          ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        });
        if (doc.groups.length > HTML_MATRIX_MAX_GROUPS)
          io.err(
            `note: ${count(doc.groups.length)} groups: the page lists them without the matrix (over ${HTML_MATRIX_MAX_GROUPS}); -n NS narrows it\n`,
          );
        io.out(renderReachHtml(doc));
        return;
      }
      if (format === 'json' || format === 'yaml') {
        const shown = world.pods.filter(
          (x) => opts.namespace === undefined || x.namespace === opts.namespace,
        ).length;
        const grouping = opts.perPod
          ? 'pods'
          : opts.grouped || shown > PER_POD_UP_TO
            ? 'groups'
            : 'pods';
        if (grouping === 'groups' && !opts.grouped)
          io.err(
            `note: ${count(shown)} pods: the document groups the pods the policies treat alike (--per-pod for one group per pod)\n`,
          );
        const o = {
          grouping,
          externals,
          ...(q ? { port: q } : {}),
          ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        } as const;
        if (format === 'yaml') writeReachabilityYaml(io.out, world, m, o, toYaml);
        else writeReachability(io.out, world, m, o);
        return;
      }
      if (format === 'dot' || format === 'mermaid') {
        const render = format === 'dot' ? renderReachDot : renderReachMermaid;
        io.out(render(m, opts.namespace, externals));
        return;
      }
      renderMatrix(io.out, m, format, q, opts.namespace, externals);
    });
}
