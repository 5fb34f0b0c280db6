/**
 * iptables/: `iptables-save` text <-> the netfilter Ruleset model.
 *
 * - `parseIptablesSave(text, file)` reads real dumps (iptables 1.8 legacy and
 *   nf_tables, with their `#` headers and `[pkts:bytes]` counters) and
 *   iptables-restore input as kube-proxy writes it (`-m tcp -p tcp`, unquoted
 *   multi-word comments in its test fixtures, undeclared built-in chains,
 *   `-I`/`-N`/`-X`/`-F`, `--noflush` partial tables). Every problem is a
 *   diagnostic with FILE:LINE; what packeteye does not model is kept as an
 *   `unsupported` match/target plus a warning, never dropped or guessed.
 * - Each rule is normalised the way the kernel struct holds it and
 *   `Rule.text` is the exact text iptables-save prints for it
 *   (`-s 10.0.0.1` → `-s 10.0.0.1/32`, `--or-mark 0x4000` →
 *   `--set-xmark 0x4000/0x4000`, `-m tcp -p tcp` → `-p tcp -m tcp`), checked
 *   against the real iptables-save in roundtrip.kernel.test.ts.
 * - `serializeRuleset(rs)` prints a ruleset as iptables-save would, so
 *   serialize(parse(x)) == x for real iptables-save output (minus `#` lines).
 *   It prints each rule's `text`; `formatRule`/`ruleText` compute that text
 *   from a model (they agree everywhere except `-j CT --notrack`, which the
 *   model holds as NOTRACK and `text` keeps as written).
 * - `parseRule(args, source)` reads one rule spec without `-A CHAIN`.
 * - merge.ts replays several components' dumps and `--noflush` fragments into
 *   one node's iptables-save text, in the order they start (kubelet,
 *   kube-proxy, CNI plugins, flannel, ip-masq-agent, Felix last).
 *
 * Options: `parseIptablesSave(text, file, { noflush: true })` reads
 * `iptables-restore --noflush` input: a repeated `*table` adds to the table
 * and re-declaring a chain flushes it. Without it a repeated table replaces
 * the first (with a warning), as a plain iptables-restore does.
 *
 * Diagnostic codes: errors `iptables-syntax` (structure, options),
 * `iptables-bad-value` (addresses, ports, numbers, names),
 * `iptables-unknown-chain`, `iptables-missing-commit`; warnings
 * `iptables-unsupported` (rule kept, part not modelled),
 * `iptables-table-replaced`; info `iptables-legacy-tables`. A rule with an
 * error is left out of the ruleset; parsing goes on.
 *
 * Normalisations worth knowing: `--probability` is kept as iptables-save
 * prints it back (0.3333333333 → 0.33333333349, i.e. lround(p·2^31)/2^31 to
 * 11 places); `--set-mark v/m` is xmark v/(v|m) (mark_tg_parse); LOG level 4
 * (the default) is not kept; recent's `--name DEFAULT` and mask
 * 255.255.255.255 are filled in; a full 0:65535 port range and a
 * non-inverted 0.0.0.0/0 address disappear, as they do from the kernel struct.
 *
 * ip6tables-save dumps too: the family is detected (detectIptablesFamily) or
 * given (`ParseOptions.family`) and recorded in `Ruleset.family`; IPv6
 * addresses print in RFC 5952 form with a prefix (`-d ::1/128`), `-p 58` as
 * `ipv6-icmp`, `-m icmp6 --icmpv6-type N[/C]`, REJECT's ip6tables types
 * (default icmp6-port-unreachable) and `--to-destination [addr]:port`, all
 * checked against ip6tables 1.8.9 (roundtrip6.kernel.test.ts). An address of
 * the other family is an error with its line.
 *
 * Sources: iptables 1.8.9 iptables/xshared.c (add_param_to_argv, do_parse),
 * iptables-restore.c, nft-ipv4.c/iptables-save.c (save order), and each
 * extensions/libxt_*.c parse/save pair cited where used.
 */

export { detectIptablesFamily, parseIptablesSave, parseRule, type ParseOptions } from './parse.js';
export {
  CODE_UNKNOWN_CHAIN,
  CODE_NO_COMMIT,
  CODE_LEGACY_TABLES,
  CODE_TABLE_REPLACED,
} from './parse.js';
export { CODE_SYNTAX, CODE_VALUE, CODE_UNSUPPORTED } from './rule.js';
export { serializeRuleset, serializeTable, chainsInSaveOrder } from './serialize.js';
export { formatRule, formatMatch, formatTarget, ruleText } from './format.js';
export { tokenizeLine, type Token } from './tokenize.js';
