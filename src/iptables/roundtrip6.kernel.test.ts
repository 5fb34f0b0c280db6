/**
 * Real-kernel check of the parser and serialiser for ip6tables: load
 * test/fixtures/iptables/battery6.rules (IPv6 spellings of every modelled
 * match and target, non-canonical addresses among them) with
 * `ip6tables-restore` into a fresh network namespace `pe-ip6-<pid>`, read it
 * back with `ip6tables-save`, and require that
 *  - serialize(parse(saved)) == saved, byte for byte (minus `#` lines);
 *  - parsing the restore input gives the same rules as parsing the saved text
 *    (addresses normalised to RFC 5952 with a prefix, `-p 58` → ipv6-icmp,
 *    REJECT's default icmp6-port-unreachable, …, exactly as ip6tables-save);
 *  - the saved text still equals test/fixtures/iptables/battery6.saved, which
 *    the non-root unit tests rely on;
 *  - rules ip6tables-restore refuses are errors for packeteye too.
 * Runs only as root with ip, ip6tables-restore and ip6tables-save; the
 * namespace is deleted in afterAll.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunKernelTests } from '../emulate/testing/kernel.js';
import { parseIptablesSave, serializeRuleset } from './index.js';
import {
  byTable,
  flushAll as flushTables,
  inNs as inNamespace,
  model,
  read,
  withoutComments,
} from './testing/roundtrip.js';

const canRun = canRunKernelTests(['ip', 'ip6tables-restore', 'ip6tables-save']);
const NS = `pe-ip6-${process.pid}`;

const inNs = (args: string[], input?: string): string => inNamespace(NS, args, input);
const flushAll = (): void => flushTables(NS, 'ip6tables-save', 'ip6tables-restore');

describe.skipIf(!canRun)('ip6tables-save roundtrip on the real kernel', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      // already gone
    }
  });

  it('battery6 through ip6tables-restore and ip6tables-save', () => {
    const input = read('test/fixtures/iptables/battery6.rules');
    flushAll();
    try {
      inNs(['ip6tables-restore'], input);
      const saved = withoutComments(inNs(['ip6tables-save']));
      const parsedSaved = parseIptablesSave(saved, 'saved');
      expect(parsedSaved.diagnostics).toEqual([]);
      expect(parsedSaved.ruleset.family).toBe('ipv6');
      expect(serializeRuleset(parsedSaved.ruleset)).toBe(saved);
      const parsedInput = parseIptablesSave(input, 'battery6.rules');
      expect(parsedInput.diagnostics).toEqual([]);
      expect(model(parsedInput.ruleset)).toEqual(model(parsedSaved.ruleset));
      expect(byTable(saved)).toEqual(byTable(read('test/fixtures/iptables/battery6.saved')));
    } finally {
      flushAll();
    }
  });

  it.each([
    // An IPv4 address in ip6tables input.
    ['*filter\n-A INPUT -s 10.0.0.1 -d 2001:db8::1 -j DROP\nCOMMIT\n'],
    // iptables' (IPv4) REJECT type.
    ['*filter\n-A INPUT -d 2001:db8::1 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n'],
    // icmp6 without -p ipv6-icmp.
    ['*filter\n-A INPUT -d 2001:db8::1 -m icmp6 --icmpv6-type 128 -j ACCEPT\nCOMMIT\n'],
    // A prefix longer than 128.
    ['*filter\n-A INPUT -d 2001:db8::1/129 -j DROP\nCOMMIT\n'],
  ])('a rule ip6tables-restore refuses is an error for packeteye too: %j', (bad) => {
    expect(() => inNs(['ip6tables-restore'], bad)).toThrow();
    const { diagnostics } = parseIptablesSave(bad, 'bad');
    expect(diagnostics).toEqual([expect.objectContaining({ severity: 'error', line: 2 })]);
  });
});
