/**
 * `-o html` without a browser: the document is well formed (every element of
 * a known set opened and closed in order, void elements left open), self
 * contained (no URL, exactly our one style and one script, their hashes in the
 * Content-Security-Policy), holds every step of every hop in the kernel's
 * words, draws one arrow per wire, and escapes whatever comes from input — a
 * pod named `<script>…` or a rule comment that tries to close its `<code>`
 * cannot inject markup.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { memoryIo } from '../cli/io.js';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { traceConnection, type TraceOptions } from '../trace/connection.js';
import type { ConnectionTrace } from '../trace/model.js';
import { planTwin, type TwinPlan } from '../twin/index.js';
import {
  esc,
  pathOf,
  renderDefaultsBody,
  renderHopBodies,
  renderTraceFragment,
  renderTraceHtml,
  wiresOf,
} from './html.js';
import { LATER_BODY } from './html-hops.js';
import { LATER_DEFAULTS } from './html-tables.js';
import { detailOf } from '../trace/model.js';
import { withTouchedDefaults } from './trace.js';

const plans = new Map<string, TwinPlan>();
function trace(example: string, opts: TraceOptions): ConnectionTrace {
  let p = plans.get(example);
  if (!p) {
    const path = `examples/${example}.yaml`;
    const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
    p = planTwin(buildModel(loaded.objects).model);
    plans.set(example, p);
  }
  return traceConnection(p, opts);
}

// ------------------------------------------------------------------ a tiny well-formedness check

const VOID = new Set(['meta', 'br', 'input', 'img', 'link', 'hr', 'col', 'wbr', 'source']);
const KNOWN = new Set([
  ...VOID,
  ...'html head title style script body header main footer section figure figcaption h1 h2 h3 p dl dt dd div span strong code ol ul li pre details summary button label fieldset legend table caption thead tbody tr th td'.split(
    ' ',
  ),
  ...'svg title desc defs marker path g rect text tspan line circle a'.split(' '),
]);

/** Checks tags nest and close; returns the problems (empty when well formed) and the element counts. */
function wellFormed(html: string): { problems: string[]; counts: Map<string, number> } {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  const stack: string[] = [];
  const body = html.replace(/^<!DOCTYPE html>\n/, '');
  const re = /<(\/?)([a-zA-Z][\w-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(body)) !== null) {
    const between = body.slice(last, m.index);
    if (/[<>]/.test(between)) problems.push(`stray < or > in text: ${between.slice(0, 60)}`);
    last = re.lastIndex;
    const [, close, name = '', attrs = '', self] = m;
    const tag = name.toLowerCase();
    if (!KNOWN.has(tag)) problems.push(`unknown element <${tag}>`);
    if (close) {
      const top = stack.pop();
      if (top !== tag) problems.push(`</${tag}> closes <${top ?? 'nothing'}>`);
      continue;
    }
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
    // An attribute outside any quoted value that names an event handler.
    if (/\son\w+\s*=/i.test(attrs.replace(/"[^"]*"|'[^']*'/g, '""')))
      problems.push(`event handler attribute on <${tag}>`);
    if (VOID.has(tag) || self) continue;
    if (tag === 'script' || tag === 'style') {
      // Raw text: skip to its end tag.
      const end = body.indexOf(`</${tag}>`, re.lastIndex);
      if (end < 0) problems.push(`<${tag}> never closed`);
      re.lastIndex = end < 0 ? body.length : end + tag.length + 3;
      last = re.lastIndex;
      continue;
    }
    stack.push(tag);
  }
  if (/[<>]/.test(body.slice(last).trim())) problems.push('stray < or > at the end');
  if (stack.length > 0) problems.push(`never closed: ${stack.join(' > ')}`);
  return { problems, counts };
}

function sha(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

function count(hay: string, needle: string): number {
  return hay.split(needle).length - 1;
}

// ------------------------------------------------------------------ cases

const CASES: { name: string; example: string; opts: TraceOptions }[] = [
  {
    name: 'two nodes, pod to Service (DNAT, un-DNAT)',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/default/store-be:80' },
  },
  {
    name: 'two nodes, UDP to kube-dns',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/kube-system/kube-dns:53', proto: 'udp' },
  },
  {
    name: 'flannel vxlan (ENCAP, DECAP)',
    example: 'flannel-vxlan',
    opts: { from: 'default/pod1', to: 'default/pod4:80' },
  },
  {
    name: 'pod to the internet (MASQUERADE, VPC SNAT)',
    example: 'gce-egress',
    opts: { from: 'default/app', to: 'host/internet:443' },
  },
  {
    name: 'hairpin to itself',
    example: 'hairpin',
    opts: { from: 'default/web', to: 'svc/default/web:80' },
  },
  {
    name: 'nothing listens (RST)',
    example: 'same-node',
    opts: { from: 'default/pod-a', to: 'default/pod-b:8080' },
  },
];

describe('renderTraceHtml', () => {
  it.each(CASES)('$name: well formed, self contained, every step shown', ({ example, opts }) => {
    const t = trace(example, opts);
    const html = renderTraceHtml(t);
    const { problems, counts } = wellFormed(html);
    expect(problems).toEqual([]);
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);

    // Self contained: no URL, no external resource, one style and one script, both hashed into the CSP.
    expect(html).not.toMatch(/https?:|<link|<[a-z][^>]*\s(src|href)="(?!#)|@import|url\((?!#)/i);
    expect(counts.get('script')).toBe(1);
    expect(counts.get('style')).toBe(1);
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const js = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/
      .exec(html)![1]!
      .replaceAll('&#39;', "'");
    expect(csp).toContain(`style-src 'sha256-${sha(css)}'`);
    expect(csp).toContain(`script-src 'sha256-${sha(js)}'`);
    expect(csp).toContain("default-src 'none'");

    // Accessible names for the picture and the ledger.
    expect(html).toContain('role="group" aria-labelledby="dg-title dg-desc"');
    expect(html).toContain('role="group" aria-labelledby="lg-title"');

    // The question and the fates.
    expect(html).toContain(`<h1>${esc(t.from.ref)} → ${esc(t.to.ref)}</h1>`);
    expect(html).toContain(`<strong class="disp">${esc(t.request.disposition)}</strong>`);
    if (t.reply) expect(html).toContain(`<span class="what">${esc(t.reply.what)}</span>`);

    // One arrow per wire (hop to next hop), one list item per hop, linked both ways.
    for (const [leg, l] of [
      ['request', t.request],
      ['reply', t.reply],
    ] as const) {
      const path = l ? pathOf(l) : [];
      expect(count(html, `<a class="arrow ${leg}"`)).toBe(Math.max(0, path.length - 1));
      expect(count(html, `<li class="hop" id="${leg}-hop-`)).toBe(path.length);
      path.forEach((h, i) =>
        expect(html).toContain(
          `id="${leg}-hop-${i + 1}" data-leg="${leg}" data-hop="${i + 1}"><details><summary><span class="badge ${leg}" aria-hidden="true">${i + 1}</span><span class="sr">${leg} hop ${i + 1}:</span> <span class="host">${esc(h.host)}</span>`,
        ),
      );
      for (const w of l ? wiresOf(l, leg) : []) {
        expect(html).toContain(`href="#${leg}-hop-${w.n}"`);
        // Each arrow is a focusable link a screen reader can name: the hop, the hosts, the packet.
        expect(html).toContain(
          `aria-label="${esc(`${leg} hop ${w.n}: ${w.from} → ${w.to}; ${w.packet.src}`)}`,
        );
      }
    }

    // Every step of every hop, in the kernel's words (rules as their iptables-save line), numbered like -v.
    let n = 0;
    for (const l of [t.request, t.reply]) {
      for (const h of l?.hops ?? []) {
        for (const s of h.steps) {
          n++;
          const d = detailOf(s, 'rule');
          if (d && typeof d.text === 'string') {
            expect(html).toContain(`<code class="rule">-A ${esc(d.chain)} ${esc(d.text)}</code>`);
            if (typeof d.file === 'string') expect(html).toContain(`${esc(d.file)}:${esc(d.line)}`);
          } else expect(html).toContain(esc(s.summary));
        }
      }
    }
    expect(html).toContain(`<span class="n">${String(n).padStart(4, '0')}</span>`);
    expect(html).not.toContain(`<span class="n">${String(n + 1).padStart(4, '0')}</span>`);

    // The rewrites table: each from → to, and the rule that did it.
    for (const r of t.rewrites) {
      expect(html).toContain(
        `<span class="old">${esc(r.from)}</span> → <span class="new">${esc(r.to)}</span>`,
      );
      if (r.rule) expect(html).toContain(esc(r.rule.text));
    }
    // Defaults: every one is there (the untouched ones folded away).
    for (const d of t.defaults)
      expect(html).toContain(`<td>${esc(d.object)}</td><td><code>${esc(d.field)}</code>`);
  });

  it('marks the DNAT on the wire it happened on, as the seeds draw it', () => {
    const t = trace('two-nodes', { from: 'default/frontend', to: 'svc/default/store-be:80' });
    const dnat = t.rewrites.find((r) => r.kind === 'DNAT')!;
    const wires = wiresOf(t.request, 'request');
    const marked = wires.filter((w) => w.marks.some((m) => m.kind === 'DNAT'));
    expect(marked.map((w) => w.from)).toEqual([dnat.host]);
    expect(marked[0]!.packet.dst).toBe(dnat.to.replace(/:\d+$/, ''));
    const html = renderTraceHtml(t);
    expect(html).toContain(
      `<tspan class="k">dst</tspan> <tspan class="old">${esc(dnat.from)}</tspan> → <tspan class="new">${esc(dnat.to)}</tspan> <tspan class="why">DNAT</tspan>`,
    );
    // And the reply's un-DNAT on the reply's wire.
    const un = t.rewrites.find((r) => r.leg === 'reply' && r.field === 'src')!;
    expect(wiresOf(t.reply!, 'reply').some((w) => w.marks.some((m) => m.kind === un.kind))).toBe(
      true,
    );
  });

  it('shows the tunnel: the outer header on the wire between nodes, the inner one beside it', () => {
    const t = trace('flannel-vxlan', { from: 'default/pod1', to: 'default/pod4:80' });
    const wire = wiresOf(t.request, 'request').find((w) => w.marks.some((m) => m.kind === 'ENCAP'));
    expect(wire).toBeDefined();
    expect(wire!.packet.proto).toBe('udp');
    expect(wire!.inner).toContain(t.request.sent.src);
    expect(renderTraceHtml(t)).toContain(`inner ${esc(wire!.inner)}`);
  });

  it('switchable alternatives, the one drawn selected', () => {
    const t = trace('two-nodes', {
      from: 'default/frontend',
      to: 'svc/default/store-be:80',
      allPaths: true,
    });
    const html = renderTraceHtml(t);
    expect(wellFormed(html).problems).toEqual([]);
    expect(t.alternatives).toHaveLength(3);
    expect(count(html, 'type="radio" name="alt"')).toBe(3);
    expect(count(html, 'class="alt-panel"')).toBe(3);
    expect(count(html, 'class="alt-panel" id="alt-')).toBe(3);
    expect(count(html, ' hidden>')).toBe(2);
    const drawn = t.rewrites.find((r) => r.kind === 'DNAT')!.to;
    const i = t.alternatives!.findIndex((a) => a.dnat === drawn);
    expect(html).toContain(`value="${i}" checked>`);
    expect(html).toContain(`id="alt-${i}" data-alt="${i}">`);
    for (const a of t.alternatives!) expect(html).toContain(`${(a.probability * 100).toFixed(1)}%`);
  });

  it('a packet NetworkPolicy drops: the cross where it died, the policy verdict, no reply', () => {
    const t = trace('three-tier-policy', { from: 'store/fe-1', to: 'store/db-1:6379' });
    expect(t.request.disposition).toBe('dropped');
    expect(t.reply).toBeNull();
    const html = renderTraceHtml(t);
    expect(wellFormed(html).problems).toEqual([]);
    expect(count(html, '<g class="death">')).toBe(1);
    expect(html).toContain(`<title>${esc(`TCP SYN dropped at ${t.request.at}`)}`);
    expect(html).toContain('<h2 id="h-policy">NetworkPolicy</h2>');
    expect(html).toContain('<strong class="disp">denied</strong> by the policies');
    for (const l of t.policy!.explanation) expect(html).toContain(esc(l));
    expect(html).toContain('dropped at node-a');
  });

  it('says so when there is no reply', () => {
    const t = trace('same-node', { from: 'default/pod-a', to: 'default/pod-b:80' });
    const html = renderTraceHtml({ ...t, reply: null });
    expect(wellFormed(html).problems).toEqual([]);
    expect(html).toContain('nothing answers a packet that never arrived');
    expect(count(html, '<a class="arrow reply"')).toBe(0);
  });
});

describe('the brief view (the serve page): hop bodies fetched later', () => {
  it.each(CASES)('$name: with its bodies put back, the whole view', ({ example, opts }) => {
    const t = trace(example, { ...opts, allPaths: true });
    const whole = renderTraceFragment(t);
    const brief = renderTraceFragment(t, { brief: true });
    const bodies = renderHopBodies(t);
    const ids = [...brief.matchAll(/<li class="hop" id="([^"]+)"/g)].map((m) => m[1]!);
    expect(Object.keys(bodies)).toEqual(ids);
    expect(ids.length).toBeGreaterThan(2);
    // The brief view holds no step; each placeholder is where its hop's body goes.
    expect(brief).not.toContain('class="step ');
    expect(wellFormed(brief).problems).toEqual([]);
    let i = 0;
    const filled = brief.replace(
      /<div class="hopbody" data-later="">(.*?)<\/div>/g,
      (_, later: string) => {
        expect(later).toBe(LATER_BODY);
        return `<div class="hopbody">${bodies[ids[i++]!]}</div>`;
      },
    );
    expect(i).toBe(ids.length);
    // The defaults' tables are left out as well, in a closed section: with them put back, the whole view.
    const tables = renderDefaultsBody(t);
    expect(brief).not.toContain('<caption>For the objects this connection touched');
    let j = 0;
    const all = filled.replace(
      /<details class="later-defaults"><summary>[^<]*<\/summary><div class="defaultsbody" data-later="">(.*?)<\/div><\/details>/g,
      (_, later: string) => {
        j++;
        expect(later).toBe(LATER_DEFAULTS);
        return tables;
      },
    );
    expect(j).toBe(t.defaults.length > 0 ? 1 : 0);
    expect(all).toBe(whole);
  });
});

describe('defaults left out (--defaults touched)', () => {
  it.each([
    ['a policy section', 'three-tier-policy', { from: 'store/fe-1', to: 'store/be-1:8080' }],
    ['no policy section', 'two-nodes', { from: 'default/frontend', to: 'svc/default/store-be:80' }],
  ])("are counted once, with %s, in the whole view and in the page's", (_, example, opts) => {
    const t = withTouchedDefaults(trace(example, opts));
    expect(t.defaultsOmitted).toBeGreaterThan(0);
    const once = (html: string): number => html.split('left out of this answer').length - 1;
    expect(once(renderTraceHtml(t))).toBe(1);
    // The page: the summary says it; the body fetched when the section opens does not again.
    expect(once(renderTraceFragment(t, { brief: true }) + renderDefaultsBody(t))).toBe(1);
  });

  it("are counted with none in the answer, in the whole view and in the page's", () => {
    const t = withTouchedDefaults(
      trace('two-nodes', { from: 'default/frontend', to: 'svc/default/store-be:80' }),
    );
    // Nothing the connection touched had a default: only the count is left.
    const none = { ...t, defaults: [], defaultsOmitted: t.defaultsOmitted! + t.defaults.length };
    const line = `<p>${none.defaultsOmitted} more, about objects this connection did not touch, left out of this answer.</p>`;
    const section = `<section aria-labelledby="h-defaults"><h2 id="h-defaults">Defaults the twin invented</h2>${line}</section>`;
    expect(renderTraceHtml(none)).toContain(section);
    // The page's brief view says it at once: there is nothing to fetch.
    const brief = renderTraceFragment(none, { brief: true });
    expect(brief).toContain(section);
    expect(brief).not.toContain('later-defaults');
    expect(renderDefaultsBody(none)).toBe('');
  });
});

describe('escaping', () => {
  it.each([
    ['<script>', '&lt;script&gt;'],
    ['a & b', 'a &amp; b'],
    [`"quoted" 'single'`, '&quot;quoted&quot; &#39;single&#39;'],
    ['plain', 'plain'],
  ])('esc(%j)', (s, want) => expect(esc(s)).toBe(want));

  it('a pod named <script> and a hostile rule comment cannot inject', () => {
    const t = trace('two-nodes', { from: 'default/frontend', to: 'svc/default/store-be:80' });
    // The loader refuses such names; the renderer must not rely on it (a trace can come from anywhere).
    const evilPod = 'default/<script>alert(1)</script>';
    const evilComment = '"</code><img src=x onerror=alert(2)>';
    const evilAttr = `x" onmouseover="alert(3)`;
    const json = JSON.stringify(t)
      .replaceAll('default/frontend', evilPod.replaceAll('"', '\\"'))
      .replaceAll('kubernetes service portals', evilComment.replaceAll('"', '\\"'))
      .replaceAll('node-1', evilAttr.replaceAll('"', '\\"'));
    const evil = JSON.parse(json) as ConnectionTrace;
    expect(evil.request.hops.some((h) => h.host === evilPod)).toBe(true);
    const html = renderTraceHtml(evil);
    const { problems, counts } = wellFormed(html);
    expect(problems).toEqual([]);
    expect(counts.get('script')).toBe(1);
    expect(counts.get('img')).toBeUndefined();
    expect(html).not.toMatch(/<script>alert|<img|onerror=alert\(2\)>|" onmouseover="/);
    expect(html).toContain(esc(evilPod));
    expect(html).toContain(esc(evilComment));
    expect(html).toContain(esc(evilAttr));
  });
});

describe('packeteye trace -o html', () => {
  it('writes the page', async () => {
    const path = 'examples/two-nodes.yaml';
    const io = memoryIo({ [path]: readFileSync(path, 'utf8') });
    const code = await main(
      [
        'trace',
        '-f',
        path,
        '--from',
        'default/frontend',
        '--to',
        'svc/default/store-be:80',
        '-o',
        'html',
      ],
      io,
    );
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    expect(io.stdout.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(wellFormed(io.stdout).problems).toEqual([]);
  });
});

describe('esc: text safe in HTML content and quoted attributes', () => {
  // What String.prototype.replace with a per-character table gives, written out.
  const byTable = (s: unknown): string =>
    String(s).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
    );
  it.each<[unknown, string]>([
    ['', ''],
    ['plain text → unicode …', 'plain text → unicode …'],
    ['<a href="x">it\'s & more</a>', '&lt;a href=&quot;x&quot;&gt;it&#39;s &amp; more&lt;/a&gt;'],
    ['&&', '&amp;&amp;'],
    ['>', '&gt;'],
    ['a > b', 'a &gt; b'],
    ['&amp;', '&amp;amp;'],
    [42, '42'],
    [undefined, 'undefined'],
    [null, 'null'],
  ])('%j', (input, want) => {
    expect(esc(input)).toBe(want);
    expect(esc(input)).toBe(byTable(input));
  });
});
