import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { traceConnection } from '../trace/connection.js';
import { TwinSession } from './session.js';

const read = (path: string) => ({ path, text: readFileSync(path, 'utf8') });

describe('a twin session', () => {
  it('reads once, plans once on first use, and keeps the policy sources', () => {
    const phases: string[] = [];
    const s = TwinSession.open([read('examples/two-nodes.yaml')], (what, n) =>
      phases.push(`${what} ${n}`),
    );
    expect(phases).toEqual(['load 1', `model ${s.loaded.objects.length}`]);
    expect(s.paths).toEqual(['examples/two-nodes.yaml']);
    expect(s.failed).toBe(false);
    expect(s.isPlanned).toBe(false);
    const plan = s.plan((what) => phases.push(what));
    expect(s.plan()).toBe(plan);
    expect(phases.filter((p) => p === 'plan')).toHaveLength(1);
    expect(s.policySources()).toBe(s.policySources());
    expect(
      s.policySources().sources.some((o) => (o.object as { kind: string }).kind === 'Pod'),
    ).toBe(true);
  });

  it('gives the same trace on every question (each on a cold twin from the one plan)', () => {
    const s = TwinSession.open([read('examples/two-nodes.yaml')]);
    const q = { from: 'default/frontend', to: 'svc/default/store-be:80', seed: 7 };
    const first = JSON.stringify(traceConnection(s.plan(), q));
    for (let i = 0; i < 3; i++) expect(JSON.stringify(traceConnection(s.plan(), q))).toBe(first);
  });

  it('names each node its own rules, though nodes share a plan (and texts)', () => {
    const s = TwinSession.open([read('examples/two-nodes.yaml')]);
    const hosts = new Set<string>();
    // Once node-1 alone, then both: node-2's steps name node-2's file, not node-1's.
    traceConnection(s.plan(), { from: 'default/frontend', to: 'default/store-be-1:80' });
    const t = traceConnection(s.plan(), { from: 'default/frontend', to: 'default/store-be-3:80' });
    for (const leg of [t.request, t.reply])
      for (const h of leg?.hops ?? [])
        for (const st of h.steps) {
          const file = (st.detail as { file?: unknown } | undefined)?.file;
          if (typeof file !== 'string' || !file.startsWith('iptables-save@')) continue;
          hosts.add(h.host);
          expect(file).toBe(`iptables-save@${h.host}`);
        }
    expect([...hosts].sort()).toEqual(['node-1', 'node-2']);
  });

  it('keeps an unreadable input as diagnostics, not a throw', () => {
    const s = TwinSession.open([{ path: 'bad.yaml', text: 'kind: Pod\nmetadata: [\n' }]);
    expect(s.failed).toBe(true);
    expect(s.diagnostics.find((d) => d.severity === 'error')?.file).toBe('bad.yaml');
  });
});
