/**
 * Other tools' expectations through `packeteye reach -o json`: inputs and
 * connectivity lists of np-guard/netpol-analyzer (test/fixtures/netpol-analyzer,
 * see its README for the source and commit). Every ordered pair of distinct
 * pods is compared; a pair netpol-analyzer does not list is denied.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { readReach } from '../render/testing/reach.js';

const dir = join(import.meta.dirname, '../../test/fixtures/netpol-analyzer');
const cases = readdirSync(dir, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

type Ports = Record<string, string>;

const sorted = (p: Ports): Ports =>
  Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1)));

/** `All Connections` or `SCTP 9003,TCP 80-81,8080` as per-protocol port lists. */
function parseConnections(text: string): Ports | 'all' {
  if (text.trim() === 'All Connections') return 'all';
  const out: Record<string, string[]> = {};
  let proto = '';
  for (const token of text.split(',').map((t) => t.trim())) {
    const m = /^([A-Z]+) (.+)$/.exec(token);
    if (m) proto = m[1]!;
    (out[proto] ??= []).push(m ? m[2]! : token);
  }
  return sorted(Object.fromEntries(Object.entries(out).map(([p, l]) => [p, l.join(',')])));
}

function expected(text: string): Map<string, Ports | 'all'> {
  const out = new Map<string, Ports | 'all'>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) => (\S+) : (.+)$/.exec(line.trim());
    if (!m || m[1]!.includes('[External]') || m[2]!.includes('[External]')) continue;
    const key = (s: string) => s.replace(/\[Pod\]$/, '');
    out.set(`${key(m[1]!)} => ${key(m[2]!)}`, parseConnections(m[3]!));
  }
  return out;
}

/** A reach cell in the same terms: every port of TCP, UDP and SCTP is `all`. */
function cell(c: Ports): Ports | 'all' {
  const all = ['TCP', 'UDP', 'SCTP'].every((p) => c[p] === '1-65535');
  return all ? 'all' : sorted(c);
}

describe('netpol-analyzer expectations through packeteye reach -o json', () => {
  it.each(cases)('%s', async (name) => {
    const files = readdirSync(join(dir, name)).filter((f) => f.endsWith('.yaml'));
    const mem = Object.fromEntries(
      files.map((f) => [`${name}/${f}`, readFileSync(join(dir, name, f), 'utf8')]),
    );
    const io = memoryIo(mem);
    const code = await main(['reach', '-o', 'json', '-f', ...Object.keys(mem)], io);
    expect(code, io.stderr).toBe(0);
    const doc = readReach(io.stdout);
    const pods = doc.pods;
    const want = expected(readFileSync(join(dir, name, 'connlist_output.txt'), 'utf8'));
    // Every endpoint netpol-analyzer names is one of the pods read.
    for (const k of want.keys()) for (const p of k.split(' => ')) expect(pods).toContain(p);
    const wrong: string[] = [];
    for (const a of pods)
      for (const b of pods) {
        if (a === b) continue; // netpol-analyzer lists no pod to itself
        const got = cell(doc.text(a, b));
        const w = want.get(`${a} => ${b}`) ?? {};
        if (JSON.stringify(got) !== JSON.stringify(w))
          wrong.push(`${a} => ${b}: ${JSON.stringify(got)}, netpol-analyzer ${JSON.stringify(w)}`);
      }
    expect(wrong).toEqual([]);
    expect(pods.length).toBeGreaterThan(1);
  });
});
