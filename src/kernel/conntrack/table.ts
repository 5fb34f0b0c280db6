/**
 * One host's conntrack table (the per-netns hash of `nf_conn`s).
 *
 * Entries are immutable values; the table maps both tuples of every
 * confirmed entry to it (`tuplehash[ORIGINAL]` and `tuplehash[REPLY]`), and
 * keeps the by-source index NAT uses to reuse an existing source mapping
 * (`nf_nat_bysource`, find_appropriate_src). Expired entries are collected
 * lazily on lookup, against the simulated clock passed in.
 */
import type { ConntrackEntry } from './entry.js';
import { IPS } from './entry.js';
import { tupleKey, type Direction, type Tuple } from './tuple.js';

export interface Found {
  readonly entry: ConntrackEntry;
  readonly dir: Direction;
}

export class ConntrackTable {
  private readonly byId = new Map<number, ConntrackEntry>();
  private readonly byTuple = new Map<string, { id: number; dir: Direction }>();
  /** `proto src sport` of the original tuple → ids of SRC-manipulated entries. */
  private readonly bySource = new Map<string, Set<number>>();
  private nextId = 1;

  /** No entry, ids counted from 1 again: the table of a namespace just made. */
  clear(): void {
    this.byId.clear();
    this.byTuple.clear();
    this.bySource.clear();
    this.nextId = 1;
  }

  /** A fresh id for a new (unconfirmed) entry. */
  allocateId(): number {
    return this.nextId++;
  }

  get size(): number {
    return this.byId.size;
  }

  /** `__nf_conntrack_find_get`: the live entry holding this tuple in either direction. */
  find(t: Tuple, now: number): Found | undefined {
    const hit = this.byTuple.get(tupleKey(t));
    if (!hit) return undefined;
    const entry = this.byId.get(hit.id);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.delete(entry.id);
      return undefined;
    }
    return { entry, dir: hit.dir };
  }

  get(id: number): ConntrackEntry | undefined {
    return this.byId.get(id);
  }

  /**
   * `nf_conntrack_tuple_taken`: is this tuple used by another live entry, in
   * either direction? NAT uses it (through `nf_nat_used_tuple`) to avoid
   * handing out a mapping that would make two connections indistinguishable.
   */
  taken(t: Tuple, ignoreId: number, now: number): boolean {
    const f = this.find(t, now);
    return f !== undefined && f.entry.id !== ignoreId;
  }

  /**
   * `__nf_conntrack_confirm`: insert an unconfirmed entry. Returns the entry
   * that clashes instead (the kernel then drops the packet, except for the
   * UDP clash resolution not modelled here).
   */
  insert(entry: ConntrackEntry, now: number): ConntrackEntry | { clash: ConntrackEntry } {
    for (const t of [entry.original, entry.reply]) {
      const f = this.find(t, now);
      if (f && f.entry.id !== entry.id) return { clash: f.entry };
    }
    const confirmed = { ...entry, status: entry.status | IPS.CONFIRMED };
    this.byId.set(entry.id, confirmed);
    this.byTuple.set(tupleKey(entry.original), { id: entry.id, dir: 'original' });
    this.byTuple.set(tupleKey(entry.reply), { id: entry.id, dir: 'reply' });
    if (entry.status & IPS.SRC_NAT_DONE) {
      const k = sourceKey(entry.original);
      let set = this.bySource.get(k);
      if (!set) this.bySource.set(k, (set = new Set()));
      set.add(entry.id);
    }
    return confirmed;
  }

  /** Replace a confirmed entry by a newer version of itself (tuples unchanged). */
  update(entry: ConntrackEntry): void {
    if (this.byId.has(entry.id)) this.byId.set(entry.id, entry);
  }

  delete(id: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.byId.delete(id);
    this.byTuple.delete(tupleKey(e.original));
    this.byTuple.delete(tupleKey(e.reply));
    const k = sourceKey(e.original);
    const set = this.bySource.get(k);
    if (set) {
      set.delete(id);
      if (set.size === 0) this.bySource.delete(k);
    }
  }

  /** Entries whose original tuple has this proto/src/sport and a source mapping. */
  sameSource(t: Tuple, now: number): ConntrackEntry[] {
    const set = this.bySource.get(sourceKey(t));
    if (!set) return [];
    const out: ConntrackEntry[] = [];
    for (const id of set) {
      const e = this.byId.get(id);
      if (e && e.expires > now) out.push(e);
    }
    return out;
  }

  /** Live entries in creation order (what `conntrack -L` lists). */
  list(now: number): ConntrackEntry[] {
    return [...this.byId.values()].filter((e) => e.expires > now).sort((a, b) => a.id - b.id);
  }
}

function sourceKey(t: Tuple): string {
  return `${t.proto} ${t.src} ${t.sport}`;
}
