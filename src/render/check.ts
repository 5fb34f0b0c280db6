/**
 * Views of a check report (check/evaluate.ts): text for a terminal, the
 * `ConnectivityCheck` JSON document, JUnit XML (one testsuite per
 * expectations document, one testcase per statement, as CI systems read
 * it) and TAP version 13 (a YAML block under each failing line).
 *
 * A failing statement carries what refutes it: the pairs with the policy
 * engine's explanation, or the trace rendered as `packeteye trace` shows it.
 */
import type { CheckReport, StatementResult } from '../trace/check/evaluate.js';
import type { Statement } from '../trace/check/expectations.js';
import { renderTraceText } from './trace.js';
import { API_VERSION } from './document.js';

export const CHECK_API_VERSION = API_VERSION;
export const CHECK_KIND = 'ConnectivityCheck';

/** `reach store/fe-1 → svc/store/be:8080`: the statement in one line. */
export function statementText(s: Statement): string {
  switch (s.kind) {
    case 'reach':
    case 'noReach': {
      const port = s.port ? ` port ${s.port.protocol}/${s.port.port}` : '';
      const via = s.via === 'dataplane' ? ' (via dataplane)' : '';
      return `${s.kind === 'reach' ? 'may reach' : 'may not reach'}: ${s.from} → ${s.to}${port}${via}`;
    }
    case 'noInternetIngress':
      return `nothing in namespace ${s.namespace} is reachable from outside the cluster${s.except.length ? ` (except from ${s.except.join(', ')})` : ''}`;
    case 'keepsClientAddress':
      return `keeps the client address: ${s.from} → ${s.to}`;
    case 'reachOnly':
      return `${s.from} may reach only: ${s.to.length === 0 ? 'nothing' : ''}${s.to.map((d) => (d.port ? `${d.to} ${d.port.protocol}/${d.port.port}` : d.to)).join(', ')}`;
  }
}

function title(r: StatementResult): string {
  return r.statement.name ?? statementText(r.statement);
}

function where(s: Statement): string {
  const o = s.origin;
  return `${o.file}${o.line !== undefined ? `:${o.line}` : ''} ${o.field}`;
}

/** What refutes a failing statement, as text lines (no trailing newline). */
export function evidenceLines(r: StatementResult): string[] {
  const lines = [r.summary, ...r.notes.map((n) => `  ${n}`)];
  for (const p of r.pairs) {
    if (p.explanation.length === 0) continue;
    lines.push('', ...p.explanation.map((l) => (l ? `  ${l}` : l)));
  }
  if (r.trace) lines.push('', ...renderTraceText(r.trace).trimEnd().split('\n'));
  return lines;
}

export function renderCheckText(report: CheckReport): string {
  const out: string[] = [];
  for (const [i, r] of report.results.entries()) {
    const mark = r.holds ? 'ok  ' : 'FAIL';
    out.push(`${mark} ${i + 1} ${title(r)}`);
    if (r.statement.name !== undefined) out.push(`       ${statementText(r.statement)}`);
    if (r.holds) {
      out.push(`       ${r.summary}`);
      continue;
    }
    out.push(`       at ${where(r.statement)}`);
    for (const l of evidenceLines(r)) out.push(l ? `       ${l}` : '');
  }
  const failed = report.results.filter((r) => !r.holds).length;
  const n = report.results.length;
  out.push(
    '',
    `${n} expectation${n === 1 ? '' : 's'}: ${n - failed} hold${n - failed === 1 ? 's' : ''}, ${failed} fail${failed === 1 ? 's' : ''}`,
  );
  return `${out.join('\n')}\n`;
}

export function checkJson(report: CheckReport): unknown {
  const failed = report.results.filter((r) => !r.holds).length;
  return {
    apiVersion: CHECK_API_VERSION,
    kind: CHECK_KIND,
    expectations: report.files,
    summary: { total: report.results.length, held: report.results.length - failed, failed },
    results: report.results.map((r) => {
      const { origin, ...statement } = r.statement;
      return {
        ...(r.statement.name !== undefined ? { name: r.statement.name } : {}),
        statement,
        source: origin,
        holds: r.holds,
        by: r.by,
        summary: r.summary,
        notes: r.notes,
        ...(r.holds
          ? {}
          : {
              pairs: r.pairs.map((p) => ({
                from: p.from,
                to: p.to,
                allowed: p.allowed,
                ports: p.ports,
                ...(p.json !== undefined ? { explanation: p.json } : {}),
              })),
              ...(r.trace ? { trace: r.trace } : {}),
            }),
      };
    }),
  };
}

function xml(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // Characters XML 1.0 cannot hold at all (terminal escapes and other controls).
      .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
  );
}

/** JUnit XML as Jenkins, GitLab and GitHub reporters read it: testsuites > testsuite > testcase > failure. */
export function renderCheckJunit(report: CheckReport): string {
  const bySuite = new Map<string, StatementResult[]>();
  for (const f of report.files) bySuite.set(`${f.file}\u0000${f.name}`, []);
  for (const r of report.results) {
    const key = `${r.statement.origin.file}\u0000${r.statement.origin.object.replace(/^\S+ /, '')}`;
    let l = bySuite.get(key);
    if (!l) bySuite.set(key, (l = []));
    l.push(r);
  }
  const failedAll = report.results.filter((r) => !r.holds).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="packeteye check" tests="${report.results.length}" failures="${failedAll}" errors="0">`,
  ];
  for (const [key, rs] of bySuite) {
    const [file, name] = key.split('\u0000');
    const failed = rs.filter((r) => !r.holds).length;
    out.push(
      `  <testsuite name="${xml(name!)}" file="${xml(file!)}" tests="${rs.length}" failures="${failed}" errors="0" skipped="0">`,
    );
    for (const r of rs) {
      const head = `    <testcase name="${xml(title(r))}" classname="${xml(`${name}.${r.statement.kind}`)}" file="${xml(file!)}"${r.statement.origin.line !== undefined ? ` line="${r.statement.origin.line}"` : ''}`;
      if (r.holds) {
        out.push(`${head}>`, `      <system-out>${xml(r.summary)}</system-out>`, '    </testcase>');
        continue;
      }
      out.push(
        `${head}>`,
        `      <failure message="${xml(r.summary)}" type="${xml(r.statement.kind)}">${xml(
          [`at ${where(r.statement)}`, statementText(r.statement), ...evidenceLines(r)].join('\n'),
        )}</failure>`,
        '    </testcase>',
      );
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

function tapLine(s: string): string {
  // A `#` in the description would start a TAP directive.
  return s.replace(/#/g, '\\#').replace(/\n/g, ' ');
}

function yamlScalar(s: string): string {
  return JSON.stringify(s);
}

/** TAP version 13: `ok`/`not ok` per statement, a YAML diagnostic block under each failure. */
export function renderCheckTap(report: CheckReport): string {
  const out = ['TAP version 13', `1..${report.results.length}`];
  report.results.forEach((r, i) => {
    out.push(`${r.holds ? 'ok' : 'not ok'} ${i + 1} - ${tapLine(title(r))}`);
    if (r.holds) return;
    out.push(
      '  ---',
      `  message: ${yamlScalar(r.summary)}`,
      `  statement: ${yamlScalar(statementText(r.statement))}`,
      `  at: ${yamlScalar(where(r.statement))}`,
      `  by: ${r.by}`,
      '  evidence: |-',
      ...evidenceLines(r).map((l) => (l ? `    ${l}` : '')),
      '  ...',
    );
  });
  return `${out.join('\n')}\n`;
}
