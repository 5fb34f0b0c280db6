/**
 * `npm run bench`: packeteye's performance figures at real scale.
 *
 *   iptables parse   a 10,000-service kube-proxy dump (~40,000 rules); target < 1 s
 *   iptables trace   median time to trace one packet through it;    target < 1 ms
 *   nft parse        kube-proxy nftables mode, 10,000 services (~40,000 rules); target < 1 s
 *   nft trace        median time to trace one packet through it;    target < 1 ms
 *                    and, as root, the real kernel's per-packet cost on the same ruleset
 *                    loaded with nft -f in a namespace, beside packeteye's
 *   reach            full matrix, 5,000 pods / 100 namespaces / 1,000 policies; target < 10 s;
 *                    then `reach` end to end through the CLI at 5,000 pods (and 150,000 with
 *                    --150k or PE_BENCH_150K=1: target ≤ 10 s), each phase with its RSS
 *   load             a ~20 MB `kubectl get -A -o yaml` dump: load + model;  target < 3 s
 *   check            1,000 expectations on the 5,000-pod reach cluster;    target < 10 s
 *   diff             reach --diff on it after one policy change;           target < 20 s
 *   scale            time to first answer on a generated cluster of 1,000 and 10,000 pods
 *                    (150,000 pods / 5,000 nodes / 10,000 Services with --150k or
 *                    PE_BENCH_150K=1): each phase (the first node, the next ones, a node
 *                    with another kube-proxy key: one hosting a Local Service's endpoint),
 *                    RSS, the CLI end to end, the growth exponent and, as root, the real
 *                    kernel's per-packet cost beside ours
 *   serve            1,000 traces after the first build on the same clusters, in the
 *                    session, through `packeteye serve`'s HTTP API (every default, and
 *                    defaults=touched), and from its page in headless Chromium; target ≤ 5 ms
 *                    (--touched-only: not the every-default HTTP run, ~10 min at 150k)
 *
 * Figures are wall-clock on this machine; run on an idle machine for numbers
 * worth comparing. Each benchmark is run a few times and the best run reported
 * for the one-shot figures (parse, reach), since noise only ever adds time.
 */
import { benchParse } from './iptables-parse.js';
import { benchLoad } from './k8s-load.js';
import { benchTrace } from './iptables-trace.js';
import { benchNft, benchNftKernel } from './nft.js';
import { kernelUnavailable } from './scale-kernel.js';
import { benchReach } from './reach.js';
import { benchReachScale } from './reach-scale.js';
import { benchCheck, benchDiff } from './check.js';
import { benchScale } from './scale-run.js';
import { benchServeHttp, benchServePage, benchServeSession } from './serve.js';

function line(name: string, figure: string, target: string, ok: boolean): string {
  return `${name.padEnd(18)} ${figure.padEnd(52)} target ${target.padEnd(8)} ${ok ? 'ok' : 'MISSED'}`;
}

function best<T>(runs: number, f: () => T, key: (t: T) => number): T {
  let out = f();
  for (let i = 1; i < runs; i++) {
    const r = f();
    if (key(r) < key(out)) out = r;
  }
  return out;
}

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const big = args.includes('--150k') || process.env.PE_BENCH_150K === '1';
const touchedOnly = args.includes('--touched-only');
const want = (name: string) => only.length === 0 || only.includes(name);
const lines: string[] = [];

if (want('parse')) {
  process.stderr.write('bench: parsing a 10,000-service kube-proxy dump…\n');
  const p = best(
    3,
    () => benchParse(),
    (r) => r.ms,
  );
  lines.push(
    line('iptables parse', `${p.rules} rules in ${p.ms.toFixed(0)} ms`, '< 1 s', p.ms < 1000),
  );
}
if (want('trace')) {
  process.stderr.write('bench: tracing 1,000 packets through it…\n');
  const t = benchTrace();
  lines.push(
    line(
      'iptables trace',
      `median ${t.medianMs.toFixed(3)} ms, p90 ${t.p90Ms.toFixed(3)} ms (${t.packets} pkts)`,
      '< 1 ms',
      t.medianMs < 1,
    ),
  );
}
if (want('nft')) {
  process.stderr.write(
    'bench: parsing a 10,000-service kube-proxy nftables ruleset, tracing 1,000 packets…\n',
  );
  const n = benchNft();
  lines.push(
    line(
      'nft parse',
      `${n.rules} rules, ${(n.bytes / 1e6).toFixed(1)} MB in ${n.parseMs.toFixed(0)} ms`,
      '< 1 s',
      n.parseMs < 1000,
    ),
    line(
      'nft trace',
      `median ${n.medianMs.toFixed(3)} ms, p90 ${n.p90Ms.toFixed(3)} ms (${n.packets} pkts)`,
      '< 1 ms',
      n.medianMs < 1,
    ),
  );
  const pe = `packeteye ${n.nodeUs.toFixed(1)} µs per packet (median, node → VIP)`;
  const why = kernelUnavailable('nft');
  if (why !== undefined) lines.push(`nft kernel: not measured (${why}); ${pe}`);
  else {
    process.stderr.write('bench: the real kernel on the same nftables ruleset…\n');
    const k = benchNftKernel();
    lines.push(
      `nft kernel (${k.tool}), ${k.rules} rules: nft -f ${k.restoreMs.toFixed(0)} ms; first packet of a new connection ${k.rulesUs.toFixed(1)} µs (empty tables ${k.emptyUs.toFixed(1)} µs, ${k.packets} SYNs, ${k.dnatted} DNATed)`,
      `${pe}: ${(n.nodeUs / k.rulesUs).toFixed(2)}× the kernel's per-packet cost`,
    );
  }
}
if (want('reach')) {
  process.stderr.write('bench: reachability matrix for 5,000 pods…\n');
  const r = best(
    2,
    () => benchReach(),
    (x) => x.ms,
  );
  lines.push(
    line(
      'reach',
      `${r.pods} pods, ${r.policies} policies, ${r.groups} groups: ${r.ms} ms`,
      '< 10 s',
      r.ms < 10_000,
    ),
  );
  lines.push(...benchReachScale({ big }));
}
if (want('load')) {
  process.stderr.write('bench: loading a kubectl dump of 5,000 pods…\n');
  const l = best(
    2,
    () => benchLoad(),
    (x) => x.ms,
  );
  lines.push(
    line(
      'k8s load',
      `${(l.bytes / 1e6).toFixed(1)} MB, ${l.objects} objects: ${l.ms.toFixed(0)} ms`,
      '< 3 s',
      l.ms < 3000,
    ),
  );
}
if (want('check')) {
  process.stderr.write('bench: checking 1,000 expectations on 5,000 pods…\n');
  const c = benchCheck();
  lines.push(
    line(
      'check',
      `${c.statements} statements, ${c.pods} pods (${c.failed} fail): ${c.ms} ms`,
      '< 10 s',
      c.ms < 10_000,
    ),
  );
}
if (want('diff')) {
  process.stderr.write('bench: reach --diff after one policy change on 5,000 pods…\n');
  const d = benchDiff();
  lines.push(
    line(
      'reach --diff',
      `${d.pods} pods, one policy changed (${d.opened} opened, ${d.cut} cut): ${d.ms} ms`,
      '< 20 s',
      d.ms < 20_000,
    ),
  );
}
if (want('scale')) lines.push(...benchScale({ big }));
if (want('serve')) {
  for (const pods of big ? [1000, 10_000, 150_000] : [1000, 10_000]) {
    process.stderr.write(`bench: serve, 1,000 + 1,000 traces at ${pods} pods (session)…\n`);
    const s = benchServeSession(pods);
    lines.push(
      line(
        `serve ${pods / 1000}k session`,
        `open ${(s.openMs / 1000).toFixed(1)} s, ahead ${(s.aheadMs / 1000).toFixed(1)} s, first ${s.firstTraceMs.toFixed(0)} ms, median same ${s.same.medianMs.toFixed(2)} / varied ${s.varied.medianMs.toFixed(2)} ms (p90 ${s.varied.p90Ms.toFixed(1)}; CPU per trace ${s.same.cpuMs!.toFixed(2)} / ${s.varied.cpuMs!.toFixed(2)} ms)`,
        '≤ 5 ms',
        s.varied.medianMs <= 5,
      ),
    );
    const modes = [
      ['http', {}],
      ['http touched', { defaults: 'touched' }],
    ] as const;
    for (const [label, extra] of modes.filter(([l]) => !touchedOnly || l !== 'http')) {
      process.stderr.write(`bench: serve, 1,000 + 1,000 traces at ${pods} pods (${label})…\n`);
      const h = await benchServeHttp(pods, 1000, 'bin/packeteye.js', extra);
      lines.push(
        line(
          `serve ${pods / 1000}k ${label}`,
          `start ${(h.startMs / 1000).toFixed(1)} s, ahead ${(h.aheadMs / 1000).toFixed(1)} s, first ${h.firstTraceMs.toFixed(0)} ms, median same ${h.same.medianMs.toFixed(2)} / varied ${h.varied.medianMs.toFixed(2)} ms (p90 ${h.varied.p90Ms.toFixed(1)}${h.varied.cpuMs !== undefined ? `; server CPU per trace ${h.same.cpuMs!.toFixed(2)} / ${h.varied.cpuMs.toFixed(2)} ms` : ''})`,
          '≤ 5 ms',
          h.varied.medianMs <= 5,
        ),
      );
      lines.push(
        line(
          `serve ${pods / 1000}k = CLI`,
          `${h.compared - h.differing.length} of ${h.compared} traces equal trace -o json${label === 'http' ? '' : ' --defaults touched'}${h.differing.length > 0 ? ` (not: ${h.differing.join(', ')})` : ''}`,
          'all',
          h.differing.length === 0,
        ),
      );
    }
    process.stderr.write(`bench: serve, 1,000 traces at ${pods} pods (the page in Chromium)…\n`);
    const p = await benchServePage(pods);
    lines.push(
      p
        ? line(
            `serve ${pods / 1000}k page`,
            `start ${(p.startMs / 1000).toFixed(1)} s, ahead ${(p.aheadMs / 1000).toFixed(1)} s, first drawn ${p.firstTraceMs.toFixed(0)} ms, median varied ${p.varied.medianMs.toFixed(2)} ms (p90 ${p.varied.p90Ms.toFixed(1)}${p.varied.cpuMs !== undefined ? `; server CPU per trace ${p.varied.cpuMs.toFixed(2)} ms` : ''}); a hop opened ${p.opened.medianMs.toFixed(2)} ms`,
            '≤ 5 ms',
            p.varied.medianMs <= 5,
          )
        : line(
            `serve ${pods / 1000}k page`,
            'skipped: no Chromium or playwright-core',
            '≤ 5 ms',
            false,
          ),
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
