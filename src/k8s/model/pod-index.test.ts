/**
 * The pod indexes answer as the maps they replace: `PodsByKey` as a Map by
 * `ns/name` (namespaces that are prefixes of others, keys that are not a
 * pod's), `holders` and `PodsByAddress` as a Map filled in order, first
 * holder kept (dotted quads, spellings that are not one, IPv6), both with
 * the place and address packed in one number and without.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holders, PodsByAddress, PodsByKey } from './pod-index.js';
import type { ModelPod } from './types.js';

const podOf = (namespace: string, name: string, podIP = ''): ModelPod =>
  ({ metadata: { namespace, name }, status: { podIP } }) as unknown as ModelPod;
const key = (p: ModelPod) => `${p.metadata.namespace}/${p.metadata.name}`;

const part = fc.stringMatching(/^[a-c0-9.-]{1,4}$/);
const address = fc.oneof(
  fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.10', '192.168.1.1', '0.0.0.0', '255.255.255.255'),
  fc.constantFrom('010.0.0.1', '10.0.0', 'fd00::1', 'fd00::2', 'x', ''),
  fc.tuple(fc.nat(3), fc.nat(3)).map(([a, b]) => `10.${a}.0.${b}`),
  // Any address, so both 16-bit halves vary (the radix order's two passes).
  fc
    .integer({ min: 0, max: 0xffffffff })
    .map((v) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`),
);

describe('PodsByKey', () => {
  it('gets, has and lists as a Map by ns/name', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(part, part)), fc.array(fc.string()), (pairs, probes) => {
        const byKey = new Map<string, ModelPod>();
        for (const [ns, name] of pairs) byKey.set(`${ns}/${name}`, podOf(ns, name));
        const sorted = [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const want = new Map(sorted);
        const got = new PodsByKey(sorted.map(([, p]) => p));
        expect([...got]).toEqual([...want]);
        expect([...got.keys()]).toEqual([...want.keys()]);
        expect(got.size).toBe(want.size);
        for (const k of [...want.keys(), ...probes, ...pairs.map(([ns]) => `${ns}/`)]) {
          expect(got.get(k)).toBe(want.get(k));
          expect(got.has(k)).toBe(want.has(k));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('holders and PodsByAddress', () => {
  it.each([false, true])('answer as a Map filled in order (by radix: %s)', (radix) => {
    fc.assert(
      fc.property(
        fc.array(fc.option(address, { nil: undefined })),
        fc.array(address),
        (ips, probes) => {
          const pods = ips.map((ip, i) => podOf('ns', `p${i}`, ip));
          const want = new Map<string, ModelPod>();
          const first: number[] = [];
          ips.forEach((ip, i) => {
            if (ip === undefined) return void first.push(-1);
            const holder = want.get(ip);
            first.push(holder === undefined ? -1 : pods.indexOf(holder));
            if (holder === undefined) want.set(ip, pods[i]!);
          });
          const h = holders(ips, undefined, radix);
          expect([...h.first]).toEqual(first);
          const got = new PodsByAddress(h, pods);
          expect(got.size).toBe(want.size);
          expect([...got].map(([ip, p]) => [ip, key(p)])).toEqual(
            [...want].map(([ip, p]) => [ip, key(p)]),
          );
          for (const ip of [...ips, ...probes])
            if (ip !== undefined) expect(got.get(ip)).toBe(want.get(ip));
        },
      ),
      { numRuns: 300 },
    );
  });
});
