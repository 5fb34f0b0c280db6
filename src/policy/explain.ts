/**
 * Why one pair is (not) allowed: the per-direction decisions of
 * `evaluatePair`, as text lines and as JSON.
 */
import type { AdminDecision, DirectionResult, PairResult } from './evaluate.js';
import type { Endpoint } from './model.js';
import { PortSet, type L4Protocol } from './ports.js';

export interface PortQuery {
  readonly protocol: L4Protocol;
  readonly port: number;
}

export function endpointLabel(e: Endpoint): string {
  if (e.kind === 'pod') return e.ip ? `${e.key} (${e.ip})` : `${e.key} (no IP)`;
  return e.except.length ? `${e.cidr} (except ${e.except.join(', ')})` : e.cidr;
}

function portsText(s: PortSet, q?: PortQuery): string {
  if (q)
    return s.has(q.protocol, q.port) ? `${q.protocol}/${q.port}` : `not ${q.protocol}/${q.port}`;
  return s.toString();
}

function adminLine(d: AdminDecision): string {
  const prio = d.priority !== undefined ? ` (priority ${d.priority})` : '';
  return `${d.policy}${prio} rule "${d.rule}" (${d.field}): ${d.action} ${d.ports.toString()}`;
}

function relevant(ports: PortSet, q?: PortQuery): boolean {
  return q === undefined || ports.has(q.protocol, q.port);
}

/** Lines describing one direction's decision. */
export function explainDirection(r: DirectionResult, q?: PortQuery): string[] {
  const at = r.subject.kind === 'pod' ? r.subject.key : r.subject.key;
  const head = r.direction === 'egress' ? `egress from ${at}` : `ingress to ${at}`;
  const lines: string[] = [`${head}:`];
  const verdict = q
    ? r.allowed.has(q.protocol, q.port)
      ? 'allowed'
      : 'denied'
    : `allows ${r.allowed.toString()}`;
  if (r.subject.kind !== 'pod') {
    lines.push('  outside the cluster: no policy applies', `  => ${verdict}`);
    return lines;
  }
  for (const d of r.admin) {
    if (relevant(d.ports, q)) lines.push(`  ${adminLine(d)}`);
  }
  if (r.adminSelecting.length > 0 && r.admin.length === 0) {
    lines.push(`  no rule of ${r.adminSelecting.join(', ')} matches`);
  }
  if (r.toNetworkPolicy.isEmpty() || (q && !r.toNetworkPolicy.has(q.protocol, q.port))) {
    lines.push(`  => ${verdict} (decided by AdminNetworkPolicy)`);
    return lines;
  }
  if (r.admin.length > 0) lines.push(`  left to NetworkPolicy: ${portsText(r.toNetworkPolicy, q)}`);
  if (r.isolatedBy.length > 0) {
    lines.push(`  isolated for ${r.direction} by ${r.isolatedBy.join(', ')}`);
    const peer = r.peer.key;
    const hits = r.npHits.filter((h) => h.matched && relevant(h.ports, q));
    if (hits.length === 0) {
      const what = q ? `${q.protocol}/${q.port} ` : '';
      lines.push(
        `  no rule of those policies allows ${what}${r.direction === 'egress' ? 'to' : 'from'} ${peer}:`,
      );
      const withRules = new Set(r.npHits.map((h) => h.policy));
      for (const p of r.isolatedBy)
        if (!withRules.has(p)) lines.push(`    ${p}: no ${r.direction} rules (it only isolates)`);
      for (const h of r.npHits) {
        const why = !h.matched
          ? `${peer} is not among its peers (${h.peers})`
          : `its ports are ${h.ports.toString()}`;
        lines.push(`    ${h.policy} ${h.field}: ${why}`);
      }
    }
    for (const h of hits)
      lines.push(`  ${h.policy} ${h.field} allows ${h.ports.toString()} (peers: ${h.peers})`);
  } else {
    lines.push(
      `  not isolated for ${r.direction}: no NetworkPolicy with policyType ${r.direction === 'egress' ? 'Egress' : 'Ingress'} selects ${at}`,
    );
    for (const d of r.baseline) if (relevant(d.ports, q)) lines.push(`  ${adminLine(d)}`);
  }
  lines.push(`  => ${verdict}`);
  return lines;
}

/** The whole explanation of `from → to`. */
export function explainPair(p: PairResult, q?: PortQuery): string[] {
  const verdict = q
    ? `${q.protocol}/${q.port} ${p.allowed.has(q.protocol, q.port) ? 'ALLOWED' : 'DENIED'}`
    : `allowed: ${p.allowed.toString()}`;
  const policies = p.policiesAllow;
  const self =
    p.self && policies
      ? [
          'note: a pod reaching its own IP stays inside its network namespace (its address is local, the packet goes through lo), where no enforcer sees it: always allowed;',
          `      the policies alone would say ${q ? (policies.has(q.protocol, q.port) ? 'ALLOWED' : 'DENIED') : `allowed: ${policies.toString()}`}`,
        ]
      : [];
  return [
    `${endpointLabel(p.from)} -> ${endpointLabel(p.to)}: ${verdict}`,
    ...self,
    '',
    ...explainDirection(p.egress, q),
    ...explainDirection(p.ingress, q),
  ];
}

function directionJson(r: DirectionResult): unknown {
  const dec = (d: AdminDecision) => ({
    policy: d.policy,
    ...(d.priority !== undefined ? { priority: d.priority } : {}),
    rule: d.rule,
    field: d.field,
    action: d.action,
    ports: d.ports.toRanges(),
  });
  return {
    subject: r.subject.key,
    peer: r.peer.key,
    allowed: r.allowed.toRanges(),
    admin: r.admin.map(dec),
    toNetworkPolicy: r.toNetworkPolicy.toRanges(),
    isolatedBy: r.isolatedBy,
    adminSelecting: r.adminSelecting,
    networkPolicyRules: r.npHits.map((h) => ({
      policy: h.policy,
      field: h.field,
      peers: h.peers,
      matched: h.matched,
      ports: h.ports.toRanges(),
    })),
    baseline: r.baseline.map(dec),
  };
}

export function explainJson(p: PairResult, q?: PortQuery): unknown {
  return {
    from: p.from.key,
    to: p.to.key,
    ...(q ? { port: q, allowedOnPort: p.allowed.has(q.protocol, q.port) } : {}),
    allowed: p.allowed.toRanges(),
    ...(p.self && p.policiesAllow ? { self: true, policiesAllow: p.policiesAllow.toRanges() } : {}),
    egress: directionJson(p.egress),
    ingress: directionJson(p.ingress),
  };
}
