/**
 * `packeteye rules -f FILE|DIR|-... --node NAME [-n NS] [--pod [NS/]NAME] [--after-trace
 * --from REF --to REF] [--only iptables|ipsets|routes|links|addrs|neigh|fdb|conntrack]
 * [-o text|json|yaml]`:
 * what one namespace of the twin holds, in the real tools' formats
 * (`iptables-save`, `ipset save`, `ip route`, `ip link`, `ip addr`, `ip neigh`, `bridge fdb`,
 * `conntrack -L`), plus the defaults the twin invented. With --after-trace the
 * state is the one a traced connection left (ARP entries, learned FDB
 * entries, conntrack entries). `-o json|yaml` gives the same state as a
 * NodeRules document (render/node-rules.ts).
 */
import type { Command } from 'commander';
import { planContiv } from '../cni/contiv-vpp.js';
import { InputError } from '../diag.js';
import { SeededChooser } from '../kernel/random.js';
import type { ClusterModel } from '../k8s/model.js';
import {
  renderVswitchState,
  VSWITCH_SECTIONS,
  vswitchStateDocument,
  type VswitchSection,
} from '../render/vpp-state.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { nsName } from '../k8s/model.js';
import { bridgeFdbShow, ipAddrShow, ipLinkShow, ipNeighShow, ipRouteShow } from '../render/ip.js';
import { closeMatches, qualifyRef } from '../trace/refs.js';
import { traceConnectionWithTwin } from '../trace/connection.js';
import { IptablesHooks, type Twin, type TwinDefault } from '../twin/index.js';
import { STRICT_HELP, loadPlan } from './cluster.js';
import { clusterSources, FILE_HELP, type LiveOpts } from './live.js';
import { applyNodeStates } from './node-state.js';
import { TWIN_KINDS } from '../live/kubectl.js';
import type { Io } from './io.js';
import { count, progress, toYaml } from './output.js';
import {
  NODE_RULES_SECTIONS,
  nodeRulesDocument,
  type NodeRulesSection,
} from '../render/node-rules.js';

interface RulesOpts extends LiveOpts {
  strict?: boolean;
  nodeState?: string[];
  node?: string;
  pod?: string;
  afterTrace?: boolean;
  output: string;
  from?: string;
  to?: string;
  only?: string;
  namespace: string;
}

const SECTIONS: readonly string[] = NODE_RULES_SECTIONS;
type Section = NodeRulesSection;
const OUTPUTS = ['text', 'json', 'yaml'];

/** The twin's defaults that concern node `nodeName`: the cluster's, its own, its pods', the Services'. */
function nodeDefaults(twin: Twin, nodeName: string): TwinDefault[] {
  return twin.defaults.filter((d) => {
    const name = d.object.replace(/^\S+ /, '');
    const pod = twin.pods.get(name);
    return (
      d.object.startsWith('Cluster ') ||
      name === nodeName ||
      (pod !== undefined && pod.node === nodeName) ||
      d.object.startsWith('Service ') ||
      d.object.startsWith('EndpointSlice ')
    );
  });
}

/** Sections whose listing the node's iptables cannot change (conntrack is empty before a trace). */
export const NO_NETFILTER: ReadonlySet<Section> = new Set([
  'links',
  'addrs',
  'routes',
  'neigh',
  'fdb',
]);

/**
 * The node's (or pod's) state as the real tools print it, section by section.
 * `conntrack -L` prints its summary line (`… N flow entries have been shown.`)
 * on stderr: with `--only conntrack` it goes to `err`, so stdout is the
 * entries alone; in the full report it stays at the end of its section.
 */
export function renderRules(
  twin: Twin,
  hostName: string,
  only: Section | undefined,
  nodeName: string,
  err: (line: string) => void = () => {},
): string {
  const h = twin.host(hostName);
  const out: string[] = [];
  // Each body is made only for a section the answer shows (`--only iptables` renders no routes).
  const section = (s: Section, title: string, body: () => string): void => {
    if (only !== undefined && only !== s) return;
    if (only === undefined) out.push(`# ${title}`);
    const text = body();
    out.push(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  };
  const rules = twin.nodeRules.get(hostName);
  section('iptables', `iptables-save (${hostName})`, () =>
    rules ? serializeRuleset(rules.ruleset) : '',
  );
  // Only a node with IP sets (Calico's Felix) gets the section, unless asked for.
  if (rules?.ipsetSave || only === 'ipsets')
    section('ipsets', `ipset save (${hostName})`, () => rules?.ipsetSave ?? '');
  // Only a node with native nftables tables (kube-proxy in nftables mode) gets the section, unless asked for.
  if (rules?.nft || only === 'nftables')
    section(
      'nftables',
      `nft -f ${rules?.nft?.file ?? ''} (${hostName}: kube-proxy's table as it loads it)`,
      () => rules?.nft?.text ?? '',
    );
  section('links', `ip link (${hostName})`, () => ipLinkShow(h));
  section('addrs', `ip addr (${hostName})`, () => ipAddrShow(h));
  section('routes', `ip route (${hostName})`, () => ipRouteShow(h));
  section('neigh', `ip neigh (${hostName})`, () => ipNeighShow(h));
  section('fdb', `bridge fdb (${hostName})`, () => bridgeFdbShow(h));
  section('conntrack', `conntrack -L (${hostName})`, () => {
    const ct = h.netfilter instanceof IptablesHooks ? h.netfilter.nf.listConntrack() : '';
    // Alone, the listing is conntrack -L's stdout: its summary line goes where conntrack writes it.
    const summary =
      only === 'conntrack' ? /^conntrack v.*flow entries have been shown\.\n/m.exec(ct) : null;
    if (summary) err(summary[0]);
    return summary ? ct.replace(summary[0], '') : ct;
  });
  section('defaults', 'defaults (what the twin invented)', () =>
    nodeDefaults(twin, nodeName)
      .map((d) => `${d.object} ${d.field} = ${d.value}: ${d.reason}`)
      .join('\n'),
  );
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

/**
 * A Contiv-VPP cluster: no kube-proxy, no iptables — the node's rules are its
 * VPP vswitch's (render/vpp-state.ts), built by Contiv as cni/contiv-vpp.ts does.
 */
function rulesVswitch(io: Io, model: ClusterModel, node: string, opts: RulesOpts): void {
  const only = opts.only as VswitchSection | undefined;
  const refuse = (field: string, why: string, hint: string): never => {
    throw InputError.of('bad-option', why, { field }, hint);
  };
  if (only !== undefined && !(VSWITCH_SECTIONS as readonly string[]).includes(only))
    refuse(
      '--only',
      `--only ${only}: a contiv-vpp node has no ${opts.only === 'iptables' || opts.only === 'ipsets' ? 'kube-proxy or policy iptables' : 'conntrack'} — VPP's NAT44 does Services and its ACL plugin NetworkPolicy`,
      `one of ${VSWITCH_SECTIONS.join(', ')} (e.g. --only nat44, --only acl)`,
    );
  if (opts.pod !== undefined)
    refuse(
      '--pod',
      "--pod on contiv-vpp: a pod's own network namespace (eth0 and its routes to the TAP) is not modelled",
      'leave --pod out: the listing is the vswitch the pod is attached to',
    );
  if (opts.afterTrace)
    refuse(
      '--after-trace',
      "--after-trace on contiv-vpp: the vswitch's sessions after a trace are not listed yet",
      'trace -o vpp shows the session indices the connection took',
    );
  const plan = planContiv(model, new SeededChooser(1));
  const n = plan.nodes.get(node)!;
  const pods = new Set(n.pods.keys());
  const defaults = plan.defaults.filter((d) => {
    const name = d.object.replace(/^\S+ /, '');
    return !d.object.startsWith('Node ') && !d.object.startsWith('Pod ')
      ? true
      : name === node || pods.has(name);
  });
  for (const note of n.notes) io.err(`note: ${note}\n`);
  if (opts.output === 'json' || opts.output === 'yaml') {
    const doc = vswitchStateDocument(n.vswitch, node, defaults, only);
    io.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc));
  } else
    io.out(
      renderVswitchState(
        n.vswitch,
        only,
        defaults.map((d) => `${d.object} ${d.field} = ${d.value}: ${d.reason}`),
      ),
    );
}

const EXAMPLES = `
Examples:
  # Everything node-1's kernel holds in the twin
  packeteye rules -f examples/two-nodes.yaml --node node-1

  # Only the iptables rules, as iptables-save prints them
  packeteye rules -f examples/two-nodes.yaml --node node-1 --only iptables

  # The conntrack table after a connection from frontend to a Service
  packeteye rules -f examples/two-nodes.yaml --node node-1 --only conntrack --after-trace --from frontend --to svc/store-be:80
`;

export function register(program: Command, io: Io): void {
  program
    .command('rules')
    .description(
      "What a node's kernel holds in the twin: iptables-save, ipset save, ip route/link/addr/neigh, bridge fdb, conntrack -L",
    )
    .option('-f, --file <files...>', FILE_HELP)
    .requiredOption('--node <name>', 'the node')
    .option(
      '-n, --namespace <ns>',
      'namespace of a bare --pod NAME and --from/--to pods',
      'default',
    )
    .option(
      '--pod <[ns/]name>',
      "show this pod's network namespace instead of the node's root namespace",
    )
    .option('--after-trace', 'the state after tracing --from/--to (ARP, FDB, conntrack entries)')
    .option('--from <ref>', 'with --after-trace')
    .option('--to <ref>', 'with --after-trace')
    .option(
      '--only <what>',
      `${SECTIONS.join(' | ')}; on contiv-vpp (the VPP vswitch): ${VSWITCH_SECTIONS.join(' | ')}`,
    )
    .option(
      '-o, --output <format>',
      "text (the real tools' formats) | json | yaml (a NodeRules document)",
      'text',
    )
    .option('--strict', STRICT_HELP)
    .addHelpText('after', EXAMPLES)
    .action(async (opts: RulesOpts) => {
      const only = opts.only as Section | undefined;
      if (
        only !== undefined &&
        !SECTIONS.includes(only) &&
        !(VSWITCH_SECTIONS as readonly string[]).includes(only)
      ) {
        throw InputError.of(
          'bad-option',
          `--only ${JSON.stringify(opts.only)} is not one of ${[...new Set([...SECTIONS, ...VSWITCH_SECTIONS])].join(', ')}`,
          { field: '--only' },
          'e.g. --only iptables, or leave --only out for every section',
        );
      }
      if (!OUTPUTS.includes(opts.output)) {
        throw InputError.of(
          'bad-output',
          `-o ${JSON.stringify(opts.output)} is not one of ${OUTPUTS.join(', ')}`,
          { field: '--output' },
          'e.g. -o json',
        );
      }
      if (opts.afterTrace && (opts.from === undefined || opts.to === undefined)) {
        throw InputError.of(
          'bad-option',
          '--after-trace needs --from and --to',
          { field: '--after-trace' },
          'e.g. --after-trace --from frontend --to svc/store-be:80',
        );
      }
      if (!opts.afterTrace && (opts.from !== undefined || opts.to !== undefined)) {
        throw InputError.of(
          'bad-option',
          '--from/--to only apply with --after-trace',
          { field: opts.from !== undefined ? '--from' : '--to' },
          'add --after-trace to see the state the traced connection leaves',
        );
      }
      const p = progress(io);
      const src = await clusterSources(io, opts, TWIN_KINDS, opts.namespace);
      const plan = applyNodeStates(
        io,
        loadPlan(src.io, src.files, p, { strict: opts.strict === true }),
        opts.nodeState,
      );
      const node = opts.node!;
      if (!plan.model.nodes.has(node)) {
        const near = closeMatches(node, [...plan.model.nodes.keys()]);
        throw InputError.of(
          'unknown-node',
          `--node ${node}: no such Node`,
          { field: '--node' },
          near.length > 0
            ? `did you mean ${near.join(', ')}? (${count(plan.model.nodes.size)} nodes in the input)`
            : 'the input has no Node objects: add them, or a kubectl get nodes -o yaml dump',
        );
      }
      if (plan.model.cluster.cni.plugin === 'contiv-vpp') {
        p.done();
        rulesVswitch(io, plan.model, node, opts);
        return;
      }
      if (only !== undefined && !SECTIONS.includes(only))
        throw InputError.of(
          'bad-option',
          `--only ${only} lists a VPP vswitch's state, and this cluster's CNI is ${plan.model.cluster.cni.plugin}`,
          { field: '--only' },
          `one of ${SECTIONS.join(', ')}`,
        );
      let hostName = node;
      if (opts.pod !== undefined) {
        const key = opts.pod.includes('/') ? opts.pod : `${opts.namespace}/${opts.pod}`;
        const pod = plan.model.pods.get(key);
        if (!pod || pod.spec.nodeName !== node) {
          const near = closeMatches(
            key,
            (plan.model.podsByNode.get(node) ?? []).map((p) => nsName(p)),
          );
          throw InputError.of(
            'unknown-pod',
            `--pod ${opts.pod}: no such Pod on node ${node}`,
            { field: '--pod' },
            near.length > 0
              ? `pods on ${node} include ${near.join(', ')}`
              : `node ${node} runs no pods in the input`,
          );
        }
        hostName = pod.spec.hostNetwork ? node : key;
      }
      p.update(
        opts.afterTrace
          ? `building the twin (${count(plan.model.nodes.size)} nodes, ${count(plan.model.pods.size)} pods)…`
          : `building ${node} (${count(plan.model.podsByNode.get(node)?.length ?? 0)} pods)…`,
      );
      let twin: Twin;
      try {
        twin = opts.afterTrace
          ? traceConnectionWithTwin(plan, {
              from: qualifyRef(opts.from!, opts.namespace),
              to: qualifyRef(opts.to!, opts.namespace),
            }).twin
          : // Only the node asked about; its listings of links, addresses, routes, neighbours
            // and the FDB do not depend on its iptables, so those are not even generated.
            plan.instantiate({
              nodes: [node],
              ...(only !== undefined && NO_NETFILTER.has(only) ? { netfilter: false } : {}),
            });
      } finally {
        p.done();
      }
      if (opts.output === 'json' || opts.output === 'yaml') {
        const doc = nodeRulesDocument(twin, hostName, node, nodeDefaults(twin, node), only);
        io.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc));
      } else io.out(renderRules(twin, hostName, only, node, io.err));
    });
}
