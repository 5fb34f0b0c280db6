/**
 * Putting a table of a kept namespace back as it was saved (Host.coldSnapshot):
 * a kept node is put back after every question, so what the put-back
 * allocates outlives young collections. Entries are put back in place when
 * they can be: a Map keeps insertion order, so the entries there since the
 * table was saved come first, in their order, and the ones added since
 * (a neighbour resolved, an address learned, a connection made) follow them.
 */

/**
 * Puts `saved` (the table's entries as [key, saved state], in order) back
 * into `table`: when the table's first `saved.length` entries have the saved
 * keys in the saved order and each `fits` its saved state, each gets its
 * state back in place (`put`) and the entries after them are deleted;
 * otherwise (one deleted, or deleted and added again, since) the table is
 * made anew from copies (`copy`) of the saved states. Either way the table
 * then holds, in order, entries equal to the saved ones.
 */
export function putBack<K, V, S>(
  table: Map<K, V>,
  saved: readonly (readonly [K, S])[],
  fits: (entry: V, s: S) => boolean,
  put: (entry: V, s: S) => void,
  copy: (s: S) => V,
): void {
  if (inPlace(table, saved, fits, put)) return;
  table.clear();
  for (const [k, s] of saved) table.set(k, copy(s));
}

function inPlace<K, V, S>(
  table: Map<K, V>,
  saved: readonly (readonly [K, S])[],
  fits: (entry: V, s: S) => boolean,
  put: (entry: V, s: S) => void,
): boolean {
  if (table.size < saved.length) return false;
  let i = 0;
  for (const [k, e] of table) {
    if (i === saved.length) break;
    const [sk, s] = saved[i++]!;
    if (k !== sk || !fits(e, s)) return false;
  }
  i = 0;
  for (const [k, e] of table) {
    // Entries added since the table was saved: after the saved ones.
    if (i === saved.length) table.delete(k);
    else put(e, saved[i++]![1]);
  }
  return true;
}
