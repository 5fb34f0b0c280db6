/**
 * `-o mermaid` read by Mermaid itself (the mermaid package, in headless
 * Chromium): every diagram of the examples parses, with --all-paths as an
 * `alt` block; so does a trace whose hosts are named like Mermaid's keywords,
 * and names that differ only in punctuation (`c/a-b`, `c-a/b`) stay two
 * lifelines. Skips unless /usr/bin/chromium and playwright-core are present.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { traceConnection, type TraceOptions } from '../trace/connection.js';
import type { ConnectionTrace, Leg } from '../trace/model.js';
import { planTwin } from '../twin/index.js';
import { chromiumAvailable, openChromium, type Browser, type PwPage } from './testing/chromium.js';
import { renderTraceMermaid } from './trace.js';

let mermaidJs: string | undefined;
try {
  mermaidJs = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');
} catch {
  mermaidJs = undefined;
}

function trace(example: string, opts: TraceOptions): ConnectionTrace {
  const path = `examples/${example}.yaml`;
  const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
  return traceConnection(planTwin(buildModel(loaded.objects).model), opts);
}

/** The trace with its hosts renamed in order of appearance. */
function renamed(t: ConnectionTrace, names: readonly string[]): ConnectionTrace {
  const map = new Map<string, string>();
  const name = (h: string) => {
    if (!map.has(h)) map.set(h, names[map.size % names.length]!);
    return map.get(h)!;
  };
  const leg = (l: Leg): Leg => ({
    ...l,
    from: name(l.from),
    hops: l.hops.map((h) => ({ ...h, host: name(h.host) })),
  });
  return { ...t, request: leg(t.request), reply: t.reply ? leg(t.reply) : null };
}

const EXAMPLES: { name: string; example: string; opts: TraceOptions }[] = [
  {
    name: 'service, every path',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/default/store-be:80', allPaths: true },
  },
  {
    name: 'vxlan',
    example: 'flannel-vxlan',
    opts: { from: 'default/pod1', to: 'default/pod4:80' },
  },
  {
    name: 'cloud NAT',
    example: 'gce-egress',
    opts: { from: 'default/app', to: 'host/internet:443' },
  },
  { name: 'hairpin', example: 'hairpin', opts: { from: 'default/web', to: 'svc/default/web:80' } },
];

/** Mermaid's keywords, each a valid Kubernetes name. */
const KEYWORDS = [
  'end',
  'box',
  'alt',
  'else',
  'opt',
  'loop',
  'par',
  'and',
  'critical',
  'option',
  'break',
  'rect',
  'participant',
  'actor',
  'note',
  'over',
  'activate',
  'deactivate',
  'autonumber',
  'title',
  'create',
  'destroy',
  'links',
  'link',
  'properties',
  'details',
  'as',
  'sequencediagram',
  'default/end',
  'kube-system/box',
  'node.end',
];

describe.skipIf(!chromiumAvailable || mermaidJs === undefined)('-o mermaid in Mermaid', () => {
  let ctx: Browser;
  let page: PwPage;
  const dir = mkdtempSync(join(tmpdir(), 'pe-mermaid-'));

  beforeAll(async () => {
    ctx = await openChromium();
    page = await ctx.newPage();
    writeFileSync(
      join(dir, 'index.html'),
      `<!doctype html><body><script src="file://${mermaidJs}"></script></body>`,
    );
    await page.goto(`file://${join(dir, 'index.html')}`);
    await page.evaluate('mermaid.initialize({ startOnLoad: false })');
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Mermaid's parse: 'ok', or its error. */
  const parse = (text: string) =>
    page.evaluate<string>(
      `mermaid.parse(${JSON.stringify(text)}).then(() => 'ok', (e) => String(e && e.message || e))`,
    );
  /** The lifelines Mermaid draws: their labels. */
  const actors = (text: string) =>
    page.evaluate<string[]>(
      `mermaid.render('d' + Math.random().toString(36).slice(2), ${JSON.stringify(text)}).then(({ svg }) => {
        const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
        return [...new Set([...doc.querySelectorAll('text.actor')].map((t) => t.textContent.trim()))];
      })`,
    );

  it.each(EXAMPLES)('$name parses', async ({ example, opts }) => {
    const text = renderTraceMermaid(trace(example, opts));
    expect(await parse(text), text).toBe('ok');
  });

  it('--all-paths: every alternative is a branch of one alt block', async () => {
    const t = trace('two-nodes', EXAMPLES[0]!.opts);
    const text = renderTraceMermaid(t);
    expect(t.alternatives!.length).toBeGreaterThan(1);
    expect(text.match(/^ {2}(alt|else) /gm)).toHaveLength(t.alternatives!.length);
    expect(await parse(text), text).toBe('ok');
  });

  it.each(KEYWORDS.map((k) => [k]))('a host named %s parses', async (k) => {
    const base = trace('two-nodes', EXAMPLES[0]!.opts);
    const text = renderTraceMermaid(renamed(base, [k, 'x', 'y', 'z']));
    expect(await parse(text), text).toBe('ok');
    expect(await actors(text), text).toContain(k);
  });

  it('c/a-b and c-a/b are two lifelines', async () => {
    const base = trace('flannel-vxlan', EXAMPLES[1]!.opts);
    const text = renderTraceMermaid(renamed(base, ['c/a-b', 'c-a/b', 'c_a_b', 'c.a.b']));
    expect(await parse(text), text).toBe('ok');
    const got = await actors(text);
    for (const n of ['c/a-b', 'c-a/b']) expect(got, text).toContain(n);
  });
});
