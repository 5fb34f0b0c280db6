/**
 * Test helpers shared by the edge compilers' tests (portmap, flannel, Calico,
 * ip-masq-agent, klipper-lb): upstream argument lists to iptables-save text,
 * and "parses without errors" checks. No I/O.
 */

import type { Diagnostic } from '../../diag.js';
import { parseIptablesSave, parseRule } from '../../iptables/parse.js';
import type { Ruleset } from '../../kernel/netfilter/types.js';

/** Quotes one argv word the way iptables-restore reads it back. */
export function restoreWord(w: string): string {
  return /^[^\s"'\\]+$/.test(w) ? w : `"${w.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * An argument list as a program passes it to `iptables` (go-iptables,
 * k8s utiliptables: exec without a shell), normalised to the text
 * iptables-save prints for the rule. Throws when the parser cannot read it
 * (a test bug).
 */
export function argvToSave(argv: readonly string[]): string {
  const { rule, diagnostics } = parseRule(argv.map(restoreWord).join(' '));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0)
    throw new Error(`cannot parse ${argv.join(' ')}: ${errors.map((d) => d.message).join('; ')}`);
  return rule.text;
}

/** A restore-format rule line (`-A CHAIN ...`) normalised to iptables-save text. */
export function lineToSave(line: string): string {
  const m = /^-A (\S+) (.*)$/.exec(line);
  if (!m) throw new Error(`not an -A line: ${line}`);
  const { rule, diagnostics } = parseRule(m[2]!);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0)
    throw new Error(`cannot parse ${line}: ${errors.map((d) => d.message).join('; ')}`);
  return `-A ${m[1]} ${rule.text}`;
}

/** Parses with `parseIptablesSave`; returns the ruleset and the error diagnostics (expected empty). */
export function parseNoErrors(
  text: string,
  file = 'generated',
): { ruleset: Ruleset; errors: Diagnostic[]; diagnostics: Diagnostic[] } {
  const { ruleset, diagnostics } = parseIptablesSave(text, file);
  return { ruleset, errors: diagnostics.filter((d) => d.severity === 'error'), diagnostics };
}

/** The `-A` lines of one chain in an iptables-save text, in order. */
export function chainLines(text: string, table: string, chain: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) cur = line.slice(1);
    else if (cur === table && line.startsWith(`-A ${chain} `)) out.push(line);
  }
  return out;
}

/**
 * masqRules / forwardRules of flannel-io/flannel pkg/trafficmngr/iptables/iptables.go,
 * transcribed argument for argument (cluster_cidr = Network, pod_cidr = lease).
 */
export function upstreamFlannelMasqRules(
  clusterCidr: string,
  podCidr: string,
  randomFully: boolean,
): [string, string[]][] {
  const c = ['-m', 'comment', '--comment', 'flanneld masq'];
  const masq = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  return [
    ['POSTROUTING', [...c, '-j', 'FLANNEL-POSTRTG']],
    ['FLANNEL-POSTRTG', ['-m', 'mark', '--mark', '0x4000/0x4000', ...c, '-j', 'RETURN']],
    ['FLANNEL-POSTRTG', ['-s', podCidr, '-d', clusterCidr, ...c, '-j', 'RETURN']],
    ['FLANNEL-POSTRTG', ['-s', clusterCidr, '-d', podCidr, ...c, '-j', 'RETURN']],
    ['FLANNEL-POSTRTG', ['!', '-s', clusterCidr, '-d', podCidr, ...c, '-j', 'RETURN']],
    ['FLANNEL-POSTRTG', ['-s', clusterCidr, '!', '-d', '224.0.0.0/4', ...c, ...masq]],
    ['FLANNEL-POSTRTG', ['!', '-s', clusterCidr, '-d', clusterCidr, ...c, ...masq]],
  ];
}

export function upstreamFlannelForwardRules(network: string): [string, string[]][] {
  const f = ['-m', 'comment', '--comment', 'flanneld forward'];
  return [
    ['FORWARD', [...f, '-j', 'FLANNEL-FWD']],
    ['FLANNEL-FWD', ['-s', network, ...f, '-j', 'ACCEPT']],
    ['FLANNEL-FWD', ['-d', network, ...f, '-j', 'ACCEPT']],
  ];
}
