/**
 * Upstream's normalisation of an nftables transaction before comparison
 * (`sortNFTablesTransaction`, kubernetes pkg/proxy/nftables/helpers_test.go):
 * drop blank and `#` lines, then sort by object type (table, chain, rule,
 * set, map, element), then object name, keeping rules of one chain in their
 * order and sorting other same-named objects by the whole line. Test helper only.
 */
const ORDER: Record<string, number> = { table: 10, chain: 9, rule: 8, set: 7, map: 6, element: 5 };

export function sortNftTransaction(tx: string): string {
  const lines = tx.split('\n').filter((l) => l !== '' && l[0] !== '#');
  const keyed = lines.map((l, i) => ({ l, i, w: l.split(' ') }));
  keyed.sort((a, b) => {
    if (a.w.length >= 5 && b.w.length >= 5) {
      const oa = ORDER[a.w[1]!] ?? 0;
      const ob = ORDER[b.w[1]!] ?? 0;
      if (oa !== ob) return ob - oa;
      if (a.w[4] !== b.w[4]) return a.w[4]! < b.w[4]! ? -1 : 1;
      if (a.w[1] !== 'rule' && a.l !== b.l) return a.l < b.l ? -1 : 1;
    }
    return a.i - b.i;
  });
  return keyed.map((k) => k.l).join('\n');
}
