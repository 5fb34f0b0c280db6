/**
 * `ip rule` on a Host: policy routing rules (fib_rules), priority order,
 * fwmark, iif/oif, from/to selectors.
 */
import { parseCidr } from '../../wire/addr.js';
import { kernelError } from '../errors.js';
import { parseTable, type PolicyRule, type RuleAction } from '../fib.js';
import { Host, type RuleSpec } from '../host.js';

export class RuleApi {
  constructor(private readonly h: Host) {}

  list(): readonly PolicyRule[] {
    return this.h.rules;
  }

  /** `ip rule add [not] [from P] [to P] [fwmark V[/M]] [iif D] [oif D] [priority N] lookup T|blackhole|…`. */
  add(spec: RuleSpec): PolicyRule {
    const action: RuleAction = spec.action
      ? { kind: spec.action }
      : { kind: 'lookup', table: parseTable(spec.table ?? 'main') };
    // Without a priority the kernel picks one below the lowest non-zero rule (fib_default_rule_pref).
    let priority = spec.priority;
    if (priority === undefined) {
      const second = this.h.rules.find((r) => r.priority > 0);
      priority = second ? Math.max(second.priority - 1, 0) : 0;
    }
    const fw =
      spec.fwmark === undefined
        ? undefined
        : typeof spec.fwmark === 'number'
          ? { value: spec.fwmark, mask: 0xffffffff }
          : spec.fwmark;
    const rule: PolicyRule = {
      priority,
      ...(spec.from !== undefined && spec.from !== 'all' ? { from: parseCidr(spec.from) } : {}),
      ...(spec.to !== undefined && spec.to !== 'all' ? { to: parseCidr(spec.to) } : {}),
      ...(spec.iif !== undefined ? { iif: spec.iif } : {}),
      ...(spec.oif !== undefined ? { oif: spec.oif } : {}),
      ...(fw ? { fwmark: fw } : {}),
      invert: spec.not ?? false,
      action,
    };
    const rules = [...this.h.rules];
    let i = rules.length;
    while (i > 0 && rules[i - 1]!.priority > priority) i--;
    rules.splice(i, 0, rule);
    this.h.rules = rules;
    return rule;
  }

  del(priority: number): void {
    const i = this.h.rules.findIndex((r) => r.priority === priority);
    if (i < 0) throw kernelError('ENOENT', 'RTNETLINK answers: No such file or directory');
    this.h.rules = this.h.rules.filter((_, j) => j !== i);
  }
}

// =================================================================== ip neigh
