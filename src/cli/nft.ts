/**
 * `packeteye nft trace`: follow one packet through a node's own nftables
 * ruleset (`nft list ruleset`, `nft -j list ruleset`, or an `nft -f` script
 * such as kube-proxy's),
 * with the node's iptables-save dump beside it when both exist — as on
 * every node where kube-proxy or a CNI writes through iptables-nft while
 * something else writes native nftables tables. The kernel runs both by
 * hook priority; so does the trace.
 *
 *   packeteye nft trace --ruleset FILE [--rules DUMP] --src IP --dst IP --dport N
 *     [every other option of `iptables trace`]
 *
 * Output: the same document as `iptables trace` (see cli/iptables.ts),
 * with `input.ruleset` naming the nftables file (`input.rules` is the
 * iptables dump, or null). A hit in an nftables table names it as
 * `FAMILY NAME` (`ip kube-proxy`) with the chain, the rule's position, its
 * line and, when the text came from `nft -a list ruleset`, its `handle`.
 *
 * Exit status 0 whatever the packet's fate; 2 when the ruleset cannot be
 * read with one meaning (`FILE:LINE: error: …`). Expressions packeteye does
 * not model are warnings naming their line; a packet that reaches one gets
 * the verdict UNSUPPORTED.
 */
import type { Command } from 'commander';
import { InputError, hasErrors } from '../diag.js';
import { parseNftJson } from '../iptables/nft/json.js';
import { iptablesNftTables, parseNft } from '../iptables/nft/parse.js';
import { addTraceOptions, runTrace, type TraceOptions } from './iptables.js';
import type { Io } from './io.js';

const EXAMPLES = `
Examples:
  # A pod's SYN to a ClusterIP through kube-proxy's nftables table, every endpoint
  packeteye nft trace --ruleset examples/nftables/kube-proxy.nft --src 10.0.0.2 --dst 172.30.0.44 --dport 80 --local-ip 192.168.0.2/24@eth0 --all-paths

  # Native nftables and iptables-nft tables of one node together
  packeteye nft trace --ruleset ruleset.nft --rules iptables.rules --src 10.0.0.2 --dst 172.30.0.41 --dport 80 -o json
`;

export function register(program: Command, io: Io): void {
  const nft = program
    .command('nft')
    .description("Work with a node's own nftables ruleset (nft list ruleset)")
    .addHelpText('after', EXAMPLES);
  const trace = nft
    .command('trace')
    .description(
      'Trace one packet through an nftables ruleset (and an iptables-save dump of the same host): ' +
        'every hook, table, chain and rule it hits by priority, the verdict and who gave it, NAT rewrites',
    )
    .requiredOption(
      '--ruleset <FILE>',
      'nft list ruleset output of the host (text, or nft -j JSON), or an nft -f script ("-" for stdin)',
    )
    .option('--rules <DUMP>', 'iptables-save output of the same host (iptables-nft tables)');
  addTraceOptions(trace)
    .addHelpText('after', EXAMPLES)
    .action((opts: TraceOptions & { ruleset: string }) => {
      const text = io.readFile(opts.ruleset);
      // `nft -j list ruleset` is JSON; anything else is nft's own language.
      const parsed = text.trimStart().startsWith('{')
        ? parseNftJson(text, opts.ruleset)
        : parseNft(text, opts.ruleset);
      if (hasErrors(parsed.diagnostics))
        throw new InputError(parsed.diagnostics.filter((d) => d.severity === 'error'));
      if (parsed.ruleset.tables.length === 0) {
        throw InputError.of(
          'nft-empty-ruleset',
          'no table in the file: expected nft list ruleset output or an nft -f script',
          { file: opts.ruleset },
          "save the host's ruleset with nft -a list ruleset > ruleset.nft",
        );
      }
      const managed = iptablesNftTables(text, parsed.ruleset);
      const warnings = parsed.diagnostics.filter((d) => d.severity !== 'error');
      let tables = parsed.ruleset.tables;
      if (opts.rules !== undefined) {
        // iptables-nft's tables come from the iptables-save dump, not twice.
        tables = tables.filter((t) => !managed.has(`${t.family} ${t.name}`));
      } else if (managed.size > 0) {
        warnings.push({
          code: 'nft-iptables-nft-table',
          severity: 'warning',
          message: `${[...managed].map((m) => `table ${m}`).join(', ')} ${managed.size === 1 ? 'is' : 'are'} iptables-nft's: traced from the nft listing, where matches nft cannot print natively are not modelled`,
          file: opts.ruleset,
          hint: "pass the host's iptables-save output with --rules to trace those tables from it",
        });
      }
      runTrace(io, opts, { ruleset: { tables }, warnings });
    });
}
