/**
 * `packeteye dns -f FILE... --from POD NAME [--type A|AAAA|SRV|PTR] [-o text|wide|json|yaml]`:
 * the pod's resolver asks the cluster's DNS for NAME, every query sent
 * through the twin (trace/dns.ts). The answer as `dig` prints it, then the
 * search list's attempts and each query's way to the DNS pod (`wide`: every
 * hop). For PTR, NAME may be an address (`10.0.3.76`), as `dig -x` takes it.
 */
import type { Command } from 'commander';
import { InputError } from '../diag.js';
import { reverseName, type RRType } from '../apps/dns/index.js';
import { dnsLookupDocument } from '../render/document.js';
import { renderDig, renderDnsText } from '../render/dns.js';
import { traceLookup } from '../trace/dns.js';
import { qualifyRef } from '../trace/refs.js';
import { isIpv4 } from '../wire/addr.js';
import { STRICT_HELP, loadPlan, parseIntOption } from './cluster.js';
import { readOnce } from './read-once.js';
import { clusterSources, FILE_HELP, type LiveOpts } from './live.js';
import { TWIN_KINDS } from '../live/kubectl.js';
import type { Io } from './io.js';
import { progress, toYaml } from './output.js';

interface DnsOpts extends LiveOpts {
  strict?: boolean;
  from: string;
  type?: string;
  seed?: string;
  output?: string;
  namespace: string;
}

const TYPES = ['A', 'AAAA', 'SRV', 'PTR'];
const OUTPUTS = ['text', 'wide', 'json', 'yaml'];

const EXAMPLES = `
Examples:
  # A and AAAA of a Service name from a pod, through the search list (seed 003's kube-dns)
  packeteye dns -f examples/seed003-dns.yaml --from shop/frontend store-be

  # The SRV records of a named port, and a reverse lookup
  packeteye dns -f examples/seed003-dns.yaml --from shop/frontend _http._tcp.store-be --type SRV
  packeteye dns -f examples/seed003-dns.yaml --from shop/frontend 10.0.3.76 --type PTR
`;

export function register(program: Command, io: Io): void {
  program
    .command('dns')
    .description(
      "Resolve a name as a pod's resolver does: the answer as dig prints it, and the path of each query",
    )
    .argument('<name>', 'the name to resolve (for --type PTR, an address)')
    .option('-f, --file <files...>', FILE_HELP)
    .option('-n, --namespace <ns>', 'namespace of a bare --from POD', 'default')
    .requiredOption('--from <pod>', '[NS/]POD whose resolver asks')
    .option('--type <type>', 'A | AAAA | SRV | PTR (default: A and AAAA, as getaddrinfo asks)')
    .option('--seed <n>', 'seed for every chance decision (ports, endpoint choice)', '1')
    .option('-o, --output <format>', 'text | wide (every hop of each query) | json | yaml', 'text')
    .option('--strict', STRICT_HELP)
    .addHelpText('after', EXAMPLES)
    .action(async (name: string, opts: DnsOpts) => {
      const output = opts.output ?? 'text';
      if (!OUTPUTS.includes(output))
        throw InputError.of(
          'bad-output',
          `-o ${JSON.stringify(output)} is not one of ${OUTPUTS.join(', ')}`,
          { field: '--output' },
        );
      const type = opts.type?.toUpperCase();
      if (type !== undefined && !TYPES.includes(type))
        throw InputError.of(
          'bad-type',
          `--type ${JSON.stringify(opts.type)} is not one of ${TYPES.join(', ')}`,
          { field: '--type' },
        );
      const seed = parseIntOption(opts.seed, '--seed', 0, 0xffffffff) ?? 1;
      const p = progress(io);
      const src = await clusterSources(io, opts, TWIN_KINDS, opts.namespace);
      const plan = loadPlan(readOnce(src.io), src.files, p, { strict: opts.strict === true });
      const asked = type === 'PTR' && isIpv4(name) ? reverseName(name) : name;
      p.update('resolving through the twin…');
      let run;
      try {
        run = traceLookup(plan, qualifyRef(opts.from, opts.namespace), asked, {
          ...(type !== undefined ? { types: [type as RRType] } : {}),
          seed,
        });
      } finally {
        p.done();
      }
      for (const n of run.view.server.notes) io.err(`note: not modelled: ${n}\n`);
      if (output === 'json') io.out(`${JSON.stringify(dnsLookupDocument(run.view), null, 2)}\n`);
      else if (output === 'yaml') io.out(toYaml(dnsLookupDocument(run.view)));
      else {
        io.out(renderDig(run.view));
        io.out(`\n${renderDnsText(run.view, { wide: output === 'wide' }).join('\n')}\n`);
      }
    });
}
