/**
 * The neighbour (ARP) table of one namespace (net/core/neighbour.c,
 * net/ipv4/arp.c). Entries move through the NUD states the kernel uses:
 *
 *   (none) ──output──► INCOMPLETE ──is-at──► REACHABLE ──30 s──► STALE
 *                          │                     ▲                 │ output
 *                          └─no answer─► FAILED  └──confirmed── DELAY
 *
 * PERMANENT and NOARP entries never change on their own. Timers are lazy:
 * REACHABLE becomes STALE when read after base_reachable_time (30 s; the
 * kernel randomises it between 15 and 45 s). DELAY→PROBE unicast probing is
 * not simulated: a DELAY entry stays DELAY until something confirms it.
 */
import type { Ipv4 } from '../wire/addr.js';
import type { Mac } from '../wire/ethernet.js';
import { putBack } from './put-back.js';

export type NudState =
  | 'NONE'
  | 'INCOMPLETE'
  | 'REACHABLE'
  | 'STALE'
  | 'DELAY'
  | 'PROBE'
  | 'FAILED'
  | 'NOARP'
  | 'PERMANENT';

/** A packet parked on an unresolved entry (neigh->arp_queue), with what to do next. */
export interface PendingOutput {
  send(mac: Mac): void;
  fail(): void;
}

export interface NeighEntry {
  readonly dev: string;
  readonly ip: Ipv4;
  mac: Mac | undefined;
  state: NudState;
  /** Simulated seconds of the last state change / confirmation. */
  updated: number;
  confirmed: number;
  router: boolean;
  readonly queue: PendingOutput[];
}

/** base_reachable_time, seconds. */
export const REACHABLE_TIME = 30;

export function isValidState(s: NudState): boolean {
  return (
    s === 'REACHABLE' ||
    s === 'STALE' ||
    s === 'DELAY' ||
    s === 'PROBE' ||
    s === 'PERMANENT' ||
    s === 'NOARP'
  );
}

export class NeighTable {
  private readonly entries = new Map<string, NeighEntry>();
  /** Proxy entries (`ip neigh add proxy IP dev D`, pneigh_lookup). */
  private readonly proxies = new Set<string>();

  private static key(dev: string, ip: Ipv4): string {
    return `${dev}|${ip}`;
  }

  get(dev: string, ip: Ipv4, now: number): NeighEntry | undefined {
    const e = this.entries.get(NeighTable.key(dev, ip));
    if (e && e.state === 'REACHABLE' && now - e.confirmed > REACHABLE_TIME) {
      e.state = 'STALE';
      e.updated = e.confirmed + REACHABLE_TIME;
    }
    return e;
  }

  create(dev: string, ip: Ipv4, state: NudState, now: number, mac?: Mac): NeighEntry {
    const e: NeighEntry = {
      dev,
      ip,
      mac,
      state,
      updated: now,
      confirmed: now,
      router: false,
      queue: [],
    };
    this.entries.set(NeighTable.key(dev, ip), e);
    return e;
  }

  delete(dev: string, ip: Ipv4): boolean {
    return this.entries.delete(NeighTable.key(dev, ip));
  }

  /** neigh_ifdown: a device going down flushes its non-permanent entries. */
  flushDev(dev: string): void {
    for (const [k, e] of this.entries)
      if (e.dev === dev && e.state !== 'PERMANENT') this.entries.delete(k);
  }

  addProxy(dev: string, ip: Ipv4): void {
    this.proxies.add(NeighTable.key(dev, ip));
  }

  hasProxy(dev: string, ip: Ipv4): boolean {
    return this.proxies.has(NeighTable.key(dev, ip));
  }

  list(now: number): NeighEntry[] {
    const out: NeighEntry[] = [];
    for (const e of this.entries.values()) out.push(this.get(e.dev, e.ip, now)!);
    return out;
  }

  /**
   * Restores the table as it is now (entries copied: lookups age them in
   * place), putting entries back in place where it can (put-back.ts).
   */
  snapshot(): () => void {
    const saved = [...this.entries].map(([k, e]) => [k, { ...e, queue: [...e.queue] }] as const);
    const proxies = [...this.proxies];
    return () => {
      putBack(
        this.entries,
        saved,
        () => true,
        (e, s) => {
          e.mac = s.mac;
          e.state = s.state;
          e.updated = s.updated;
          e.confirmed = s.confirmed;
          e.router = s.router;
          if (e.queue.length > 0 || s.queue.length > 0)
            e.queue.splice(0, e.queue.length, ...s.queue);
        },
        (s) => ({ ...s, queue: [...s.queue] }),
      );
      if (!sameOrder(this.proxies, proxies)) {
        this.proxies.clear();
        for (const p of proxies) this.proxies.add(p);
      }
    };
  }

  /** Entries with packets still waiting for an answer. */
  pending(): NeighEntry[] {
    return [...this.entries.values()].filter((e) => e.state === 'INCOMPLETE' && e.queue.length > 0);
  }
}

/** Whether `set` holds exactly `items`, in their order. */
function sameOrder<T>(set: ReadonlySet<T>, items: readonly T[]): boolean {
  if (set.size !== items.length) return false;
  let i = 0;
  for (const x of set) if (x !== items[i++]) return false;
  return true;
}
