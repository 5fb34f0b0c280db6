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
 *
 * Sources: iptables 1.8.9 iptables/xshared.c (add_param_to_argv, do_parse),
 * iptables-restore.c, nft-ipv4.c/iptables-save.c (save order), and each
 * extensions/libxt_*.c parse/save pair cited where used.
 */

export { parseIptablesSave, parseRule, type ParseOptions } from './parse.js';
export { CODE_UNKNOWN_CHAIN, CODE_NO_COMMIT, CODE_LEGACY_TABLES, CODE_TABLE_REPLACED } from './parse.js';
export { CODE_SYNTAX, CODE_VALUE, CODE_UNSUPPORTED } from './rule.js';
export { serializeRuleset, serializeTable, chainsInSaveOrder } from './serialize.js';
export { formatRule, formatMatch, formatTarget, ruleText } from './format.js';
export { tokenizeLine, type Token } from './tokenize.js';
