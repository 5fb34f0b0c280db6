/**
 * `packeteye trace -f FILE|DIR|-... [-n NS] --from REF --to REF [--proto tcp|udp|icmp]
 * [--sport N] [--seed N] [--all-paths] [-v] [-o text|wide|json|yaml|mermaid|html|pcap|pcapng]`: the
 * life of one connection in the cluster twin, there and back (trace/connection.ts).
 * A bare pod name or `svc/NAME:PORT` is in `-n` (default `default`), as in kubectl.
 */
import type { Command } from 'commander';
import { InputError } from '../diag.js';
import { traceDocument } from '../render/document.js';
import {
  renderTraceMermaid,
  renderTraceText,
  renderTraceVerbose,
  withTouchedDefaults,
} from '../render/trace.js';
import {
  traceConnection,
  traceConnectionWithTwin,
  type TraceOptions,
} from '../trace/connection.js';
import type { Step } from '../kernel/step.js';
import type { ConnectionTrace } from '../trace/model.js';
import { qualifyRef } from '../trace/refs.js';
import { nameRef, traceByName } from '../trace/dns.js';
import { traceThroughIngress } from '../trace/l7.js';
import type { L7Trace } from '../trace/model.js';
import type { L4Proto } from '../wire/packet.js';
import { STRICT_HELP, loadPlan, parseIntOption } from './cluster.js';
import { readOnce } from './read-once.js';
import { clusterSources, FILE_HELP, type LiveOpts } from './live.js';
import { applyNodeStates } from './node-state.js';
import { TWIN_KINDS } from '../live/kubectl.js';
import type { Io } from './io.js';
import type { ClusterModel } from '../k8s/model.js';
import type { VppConnectionTrace } from '../trace/vpp.js';
import { count, progress, toYaml } from './output.js';

interface TraceOpts extends LiveOpts {
  strict?: boolean;
  defaults?: string;
  nodeState?: string[];
  from: string;
  to: string;
  proto?: string;
  sport?: string;
  seed?: string;
  allPaths?: boolean;
  verbose?: boolean;
  output?: string;
  http?: string;
  namespace: string;
  packet?: string;
  vppSessions?: string;
}

const OUTPUTS = ['text', 'wide', 'json', 'yaml', 'mermaid', 'html', 'pcap', 'pcapng', 'vpp'];
const PROTOS = ['tcp', 'udp', 'icmp'];

const EXAMPLES = `
Examples:
  # A pod to a Service, there and back (seed 003's store-be, three endpoints on two nodes)
  packeteye trace -f examples/two-nodes.yaml --from frontend --to svc/store-be:80

  # Every branch kube-proxy's probabilities allow, as YAML
  packeteye trace -f examples/two-nodes.yaml --from default/frontend --to svc/default/store-be:80 --all-paths -o yaml

  # The frames of the request and the reply as pcap, for Wireshark or tshark
  packeteye trace -f examples/two-nodes.yaml --from frontend --to svc/store-be:80 -o pcap > trace.pcap

  # The current kubectl context, read live (pod web-1 and Service api in namespace shop)
  kubectl packeteye trace -n shop --from web-1 --to svc/api:80

  # From a live cluster: a kubectl dump on stdin, refs in namespace shop
  kubectl get -A -o yaml nodes,pods,services,endpointslices | packeteye trace -f - -n shop --from web --to svc/api:8080
`;

/** `--to NAME:PORT` or a URL: the pod's resolver first, every query traced (trace/dns.ts); undefined for a ref. */
function traceByNameRef(
  plan: Parameters<typeof traceConnection>[0] & { model: ClusterModel },
  topts: TraceOptions,
  rawTo: string,
  output: string,
  notes: string[],
): L7Trace | undefined {
  const ref = nameRef(plan.model, rawTo, topts.to);
  if (!ref) return undefined;
  if (output === 'pcap')
    throw InputError.of(
      'bad-output',
      '-o pcap writes the frames of one connection; a name is resolved by several',
      { field: '--output' },
      'trace the address the name resolves to',
    );
  const t = traceByName(plan, { ...topts, to: rawTo }, ref);
  // What the DNS model does not cover (Corefile plugins, NodeLocal DNSCache) goes to stderr too.
  for (const n of t.dns?.server.notes ?? []) notes.push(n);
  return t;
}

/** The options no reading of the cluster is needed to refuse; whether the output is frames. */
function checkOptions(io: Io, opts: TraceOpts, output: string): boolean {
  if (!OUTPUTS.includes(output))
    throw InputError.of(
      'bad-output',
      `-o ${JSON.stringify(output)} is not one of ${OUTPUTS.join(', ')}`,
      { field: '--output' },
      'e.g. -o json, or -o yaml',
    );
  if (opts.defaults !== 'all' && opts.defaults !== 'touched')
    throw InputError.of(
      'bad-defaults',
      `--defaults ${JSON.stringify(opts.defaults)} is not one of all, touched`,
      { field: '--defaults' },
    );
  const capture = output === 'pcap' || output === 'pcapng';
  if (capture && io.isTty)
    throw InputError.of(
      'bad-output',
      `-o ${output} writes binary frames, and stdout is a terminal`,
      { field: '--output' },
      `redirect it: -o ${output} > trace.${output} (or pipe it to tshark -r -)`,
    );
  if (capture && opts.http !== undefined)
    throw InputError.of(
      'bad-output',
      '-o pcap writes the frames of one connection; --http traces two',
      { field: '--output' },
      'drop --http, or trace the upstream connection on its own',
    );
  if (opts.proto !== undefined && !PROTOS.includes(opts.proto.toLowerCase())) {
    throw InputError.of(
      'bad-proto',
      `--proto ${JSON.stringify(opts.proto)} is not one of ${PROTOS.join(', ')}`,
      { field: '--proto' },
      'e.g. --proto udp (SCTP is traced by `packeteye iptables trace`)',
    );
  }
  return capture;
}

export function register(program: Command, io: Io): void {
  program
    .command('trace')
    .description(
      'Trace a connection through the cluster twin: every hop, hook, rewrite, and the reply',
    )
    .option('-f, --file <files...>', FILE_HELP)
    .option('-n, --namespace <ns>', 'namespace of bare POD and svc/NAME refs', 'default')
    .requiredOption('--from <ref>', '[NS/]POD, node/NAME, host/NAME or IP')
    .requiredOption(
      '--to <ref>',
      '[NS/]POD[:PORT], node/NAME:PORT, host/NAME:PORT, svc/[NS/]NAME:PORT, IP[:PORT], or a name to resolve: NAME:PORT, http://NAME[:PORT]/path',
    )
    .option('--proto <proto>', "tcp | udp | icmp (default: the Service port's protocol, else tcp)")
    .option('--sport <n>', 'source port (default: ephemeral, 32768–60999, seeded)')
    .option('--seed <n>', 'seed for every chance decision (endpoint choice, ports)', '1')
    .option('--all-paths', "enumerate kube-proxy's probabilistic branches with their probabilities")
    .option(
      '--http <host[/path]>',
      'an HTTP request: continue through an ingress controller to the Ingress backend (trace/l7.ts)',
    )
    .option('-v, --verbose', 'every step, host by host')
    .option(
      '-o, --output <format>',
      "text | wide (each hop's netfilter path and frames) | json | yaml | mermaid | html | pcap (the frames on the wire, ARP included; redirect to a file) | pcapng (the same, one interface per host and device, each frame's step as its comment)",
      'text',
    )
    .option(
      '--vpp-sessions <nat=N,acl=N>',
      "for -o vpp: sessions other connections hold already in the node vswitch's NAT44 and ACL pools (show nat44 sessions, show acl-plugin sessions); the traced ones take the next slots",
    )
    .option(
      '--packet <k=v,...>',
      'header values the objects do not say, for -o vpp: id, seq, window, tsval, replySeq, replyWindow, replyTsval (e.g. id=0x5eb4,seq=0xba5bf36d)',
    )
    .option(
      '--defaults <which>',
      'all | touched: every default the twin invented, or only those about objects the connection touched (the others counted in defaultsOmitted)',
      'all',
    )
    .option('--strict', STRICT_HELP)
    .addHelpText('after', EXAMPLES)
    .action(async (opts: TraceOpts) => {
      const output = opts.output ?? 'text';
      const capture = checkOptions(io, opts, output);
      const sport = parseIntOption(opts.sport, '--sport', 1, 65535);
      const seed = parseIntOption(opts.seed, '--seed', 0, 0xffffffff) ?? 1;
      const ns = opts.namespace;
      const p = progress(io);
      const src = await clusterSources(io, opts, TWIN_KINDS, ns);
      const sio = readOnce(src.io);
      const plan = applyNodeStates(
        io,
        loadPlan(sio, src.files, p, { strict: opts.strict === true }),
        opts.nodeState,
      );
      if (output === 'vpp' || plan.model.cluster.cni.plugin === 'contiv-vpp') {
        p.done();
        await traceVpp(
          io,
          plan.model,
          opts,
          output,
          qualifyRef(opts.from, ns),
          qualifyRef(opts.to, ns),
          sport,
          seed,
        );
        return;
      }
      p.update(
        opts.allPaths
          ? `tracing every branch (${count(plan.model.nodes.size)} nodes)…`
          : `building the twin and tracing (${count(plan.model.nodes.size)} nodes)…`,
      );
      const topts = {
        from: qualifyRef(opts.from, ns),
        to: qualifyRef(opts.to, ns),
        ...(opts.proto !== undefined ? { proto: opts.proto.toLowerCase() as L4Proto } : {}),
        ...(sport !== undefined ? { sport } : {}),
        seed,
        allPaths: opts.allPaths === true,
      };
      let t: L7Trace;
      let steps: readonly Step[] = [];
      try {
        const dnsNotes: string[] = [];
        const byName = traceByNameRef(plan, topts, opts.to, output, dnsNotes);
        for (const n of dnsNotes) io.err(`note: not modelled: ${n}\n`);
        if (byName) t = byName;
        else if (capture) ({ trace: t, steps } = traceConnectionWithTwin(plan, topts));
        else t = traceConnection(plan, topts);
        if (opts.http !== undefined) {
          const slash = opts.http.indexOf('/');
          const httpHost = slash < 0 ? opts.http : opts.http.slice(0, slash);
          t = traceThroughIngress(plan, {
            ...topts,
            ...(httpHost !== '' ? { httpHost } : {}),
            path: slash < 0 ? '/' : opts.http.slice(slash),
          });
        }
      } finally {
        p.done();
      }
      // Denied by the policies: the checked edits that would allow it, in the trace itself (the
      // policy engine's modules, about 40 ms to load, are loaded only then).
      if (['text', 'wide', 'json', 'yaml'].includes(output) && t.policy?.allowedByPolicy === false)
        t = (await import('./explain.js')).suggested(sio, src.files, t);
      if (opts.defaults === 'touched') t = withTouchedDefaults(t, plan.model.defaults);
      if (io.onTrace && !io.onTrace(t)) return;
      const wide = output === 'wide';
      const text = (x: ConnectionTrace): string =>
        opts.verbose ? renderTraceVerbose(x) : renderTraceText(x, { wide });
      const upstream =
        t.upstream && (output === 'text' || wide)
          ? `\nupstream, ${t.proxy?.why}:\n${text(t.upstream)}`
          : '';
      if (output === 'pcap' || output === 'pcapng') {
        const { traceFrames, traceRecords, writePcap, writePcapng } =
          await import('../render/pcap.js');
        io.outBytes(
          output === 'pcap' ? writePcap(traceRecords(steps)) : writePcapng(traceFrames(steps)),
        );
      } else if (output === 'json') io.out(jsonText(io, traceDocument(t)));
      else if (output === 'yaml') io.out(toYaml(traceDocument(t)));
      else if (output === 'mermaid') io.out(renderTraceMermaid(t));
      else if (output === 'html') io.out((await import('../render/html.js')).renderTraceHtml(t));
      else {
        io.out(text(t) + upstream);
        if (t.policy?.suggestions !== undefined) {
          const why = (await import('./explain.js')).traceSuggestionLines(t.policy);
          if (why.length > 0) io.out(`${why.join('\n')}\n`);
        }
      }
    });
}

/** A contiv-vpp cluster: the connection through the node's VPP vswitch, as `show trace` prints it (its modules loaded then). */
async function traceVpp(
  io: Io,
  model: ClusterModel,
  opts: TraceOpts,
  output: string,
  from: string,
  to: string,
  sport: number | undefined,
  seed: number,
): Promise<void> {
  if (model.cluster.cni.plugin !== 'contiv-vpp')
    throw InputError.of(
      'bad-output',
      `-o vpp shows VPP's graph, and this cluster's CNI is ${model.cluster.cni.plugin}`,
      { field: '--output' },
      'set Cluster.spec.cni.plugin: contiv-vpp, or use -o text',
    );
  if (output === 'pcap' || output === 'pcapng')
    throw InputError.of(
      'bad-output',
      `-o ${output} on contiv-vpp: the frames of a VPP trace are not written as a capture yet`,
      { field: '--output' },
      "-o vpp prints each frame's headers as VPP's show trace does",
    );
  const [{ renderVppNotes, renderVppTrace }, { traceVppConnection, VPP_PACKET_DEFAULTS }, view] =
    await Promise.all([
      import('../render/vpp.js'),
      import('../trace/vpp.js'),
      import('../trace/vpp-view.js'),
    ]);
  const packet: Record<string, number> = {};
  for (const kv of (opts.packet ?? '').split(',').filter((x) => x !== '')) {
    const [k, v] = kv.split('=');
    const keys = Object.keys(VPP_PACKET_DEFAULTS);
    const n = v === undefined ? NaN : Number(v);
    if (!k || !keys.includes(k) || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw InputError.of(
        'bad-packet',
        `--packet ${JSON.stringify(kv)} is not KEY=NUMBER with KEY one of ${keys.join(', ')}`,
        { field: '--packet' },
      );
    packet[k] = n;
  }
  const openSessions: { nat?: number; acl?: number } = {};
  for (const kv of (opts.vppSessions ?? '').split(',').filter((x) => x !== '')) {
    const [k, v] = kv.split('=');
    const n = v === undefined ? NaN : Number(v);
    if ((k !== 'nat' && k !== 'acl') || !Number.isInteger(n) || n < 0 || n > 100000)
      throw InputError.of(
        'bad-vpp-sessions',
        `--vpp-sessions ${JSON.stringify(kv)} is not nat=N or acl=N (0..100000)`,
        {
          field: '--vpp-sessions',
        },
      );
    openSessions[k] = n;
  }
  let t: VppConnectionTrace;
  try {
    t = traceVppConnection(model, {
      from,
      to,
      openSessions,
      sport: sport ?? 46310,
      seed,
      packet,
      ...(opts.proto !== undefined
        ? { proto: opts.proto.toLowerCase() as 'tcp' | 'udp' | 'icmp' }
        : {}),
    });
  } catch (e) {
    throw InputError.of('bad-ref', (e as Error).message, { field: '--from/--to' });
  }
  io.err(renderVppNotes(t));
  if (output === 'vpp') {
    io.out(renderVppTrace(t));
    return;
  }
  // Every other view reads the ordinary trace document: the VPP graph nodes as its steps.
  const svc = /^svc\//.test(to);
  const port = Number(/:(\d+)$/.exec(to)?.[1] ?? 0);
  const tags = new Map<string, string>();
  for (const [key, s] of model.services)
    for (const sp of s.spec.ports) tags.set(`${s.spec.clusterIP}:${sp.port}`, `${key}:${sp.port}`);
  const shown = view.vppConnectionView(
    t,
    { sport: sport ?? 46310, seed, to: { kind: svc ? 'service' : 'pod', port } },
    tags,
  );
  if (output === 'json') io.out(jsonText(io, traceDocument(shown)));
  else if (output === 'yaml') io.out(toYaml(traceDocument(shown)));
  else if (output === 'mermaid') io.out(renderTraceMermaid(shown));
  else if (output === 'html') io.out((await import('../render/html.js')).renderTraceHtml(shown));
  else
    io.out(
      opts.verbose
        ? renderTraceVerbose(shown)
        : renderTraceText(shown, { wide: output === 'wide' }),
    );
}

/** A JSON document as the command prints it: indented, unless the Io asks for it compact (serve). */
function jsonText(io: Io, doc: unknown): string {
  return `${io.compactJson ? JSON.stringify(doc) : JSON.stringify(doc, null, 2)}\n`;
}
