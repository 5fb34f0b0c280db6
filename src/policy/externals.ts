/**
 * The external ranges the policies' CIDRs carve out of the address space.
 *
 * Every ipBlock `cidr`, every `except` and every ANP `networks` entry is a
 * CIDR; two CIDRs are either nested or disjoint. The region of a CIDR C is C
 * minus the CIDRs directly inside it; every address of one region is inside
 * exactly the same set of policy CIDRs, so policies cannot tell its addresses
 * apart and one address (the probe) stands for the whole region. The rest of
 * the address space is the region `0.0.0.0/0`. Regions holding nothing but
 * known pod IPs are left out: those addresses are pods, with their own rows.
 */
import { intToIp } from '../wire/addr.js';
import type { AddrRange, ExternalEndpoint, PodEndpoint } from './model.js';

const WORLD: AddrRange = { lo: 0, hi: 0xffffffff, text: '0.0.0.0/0' };

interface Node {
  readonly range: AddrRange;
  readonly children: Node[];
}

/** Nests CIDRs (sorted by lo ascending, hi descending) under the whole space. */
function buildTree(cidrs: readonly AddrRange[]): Node {
  const root: Node = { range: WORLD, children: [] };
  const stack: Node[] = [root];
  for (const c of cidrs) {
    if (c.lo === WORLD.lo && c.hi === WORLD.hi) continue;
    while (
      stack.length > 1 &&
      !(c.lo >= stack[stack.length - 1]!.range.lo && c.hi <= stack[stack.length - 1]!.range.hi)
    )
      stack.pop();
    const parent = stack[stack.length - 1]!;
    const last = parent.children[parent.children.length - 1];
    if (last && last.range.lo === c.lo && last.range.hi === c.hi) continue; // duplicate
    const node: Node = { range: c, children: [] };
    parent.children.push(node);
    stack.push(node);
  }
  return root;
}

/** The region (innermost policy CIDR) an address falls in; `0.0.0.0/0` outside all. */
export class RegionIndex {
  private readonly root: Node;
  constructor(cidrs: readonly AddrRange[]) {
    this.root = buildTree(cidrs);
  }

  regionOf(addr: number): string {
    let node = this.root;
    for (;;) {
      const next = findChild(node.children, addr);
      if (!next) return node.range.text;
      node = next;
    }
  }

  /** External endpoints, in address order. */
  externals(pods: readonly PodEndpoint[]): ExternalEndpoint[] {
    const podIpsPerRegion = new Map<string, Set<number>>();
    for (const p of pods) {
      if (p.ipInt === undefined) continue;
      const r = this.regionOf(p.ipInt);
      let s = podIpsPerRegion.get(r);
      if (!s) podIpsPerRegion.set(r, (s = new Set()));
      s.add(p.ipInt);
    }
    const out: ExternalEndpoint[] = [];
    const visit = (n: Node): void => {
      const size = n.range.hi - n.range.lo + 1;
      const inner = n.children.reduce((acc, c) => acc + (c.range.hi - c.range.lo + 1), 0);
      const free = size - inner - (podIpsPerRegion.get(n.range.text)?.size ?? 0);
      if (free > 0 && (n !== this.root || size - inner > 0)) {
        out.push({
          kind: 'external',
          key: n.range.text,
          cidr: n.range.text,
          except: n.children.map((c) => c.range.text),
          probe: probeOf(n),
        });
      }
      for (const c of n.children) visit(c);
    };
    visit(this.root);
    return out.sort((a, b) => a.probe - b.probe || (a.key < b.key ? -1 : 1));
  }
}

function findChild(children: readonly Node[], addr: number): Node | undefined {
  let lo = 0;
  let hi = children.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = children[mid]!;
    if (addr < c.range.lo) hi = mid - 1;
    else if (addr > c.range.hi) lo = mid + 1;
    else return c;
  }
  return undefined;
}

/** The first address of the node's region (not inside a child). */
function probeOf(n: Node): number {
  let a = n.range.lo;
  for (const c of n.children) {
    if (c.range.lo > a) break;
    a = c.range.hi + 1;
  }
  return a;
}

export function probeAddress(e: ExternalEndpoint): string {
  return intToIp(e.probe);
}
