import { describe, expect, it } from 'vitest';
import { bridgeFdbShow } from '../render/ip.js';
import { NeighTable } from './neigh.js';
import { Network } from './network.js';
import { putBack } from './put-back.js';
import { SocketTable, type Connection } from './socket.js';

interface E {
  kind: string;
  n: number;
}

/** A table of entries `key:kind`, each with a number; the saved states are copies. */
function table(spec: string): Map<string, E> {
  return new Map(
    spec
      .split(' ')
      .filter(Boolean)
      .map((s, i) => {
        const [k, kind] = s.split(':');
        return [k!, { kind: kind!, n: 100 + i }] as const;
      }),
  );
}

describe('putBack', () => {
  it.each([
    // [what, saved table, what happened since, in place?]
    ['nothing changed', 'a:x b:x c:x', (_t: Map<string, E>) => {}, true],
    ['states changed', 'a:x b:x c:x', (t: Map<string, E>) => t.forEach((e) => (e.n = -1)), true],
    [
      'entries added (deleted again)',
      'a:x b:x',
      (t: Map<string, E>) => {
        t.get('a')!.n = -1;
        t.set('c', { kind: 'x', n: 7 }).set('d', { kind: 'x', n: 8 });
      },
      true,
    ],
    ['an empty table grown', '', (t: Map<string, E>) => t.set('a', { kind: 'x', n: 1 }), true],
    ['an entry deleted', 'a:x b:x c:x', (t: Map<string, E>) => t.delete('b'), false],
    ['every entry deleted', 'a:x b:x', (t: Map<string, E>) => t.clear(), false],
    [
      'an entry deleted and added again (now last)',
      'a:x b:x c:x',
      (t: Map<string, E>) => {
        const b = t.get('b')!;
        t.delete('b');
        t.set('b', b);
      },
      false,
    ],
    [
      'an entry replaced by one that does not fit (another kind)',
      'a:x b:x',
      (t: Map<string, E>) => t.set('b', { kind: 'y', n: 101 }),
      false,
    ],
  ])('%s: the saved entries back, in order', (_what, spec, change, inPlace) => {
    const t = table(spec);
    const saved = [...t].map(([k, e]) => [k, { ...e }] as const);
    const before = [...t.values()];
    change(t);
    putBack(
      t,
      saved,
      (e, s) => e.kind === s.kind,
      (e, s) => {
        e.n = s.n;
      },
      (s) => ({ ...s }),
    );
    expect([...t]).toEqual(saved);
    // In place: the entries there when saved are the ones there now.
    expect([...t.values()].every((e, i) => e === before[i])).toBe(inPlace);
    if (!inPlace) expect(before.some((e) => [...t.values()].includes(e))).toBe(false);
  });
});

describe('the kept tables put back in place', () => {
  it('neighbours: entries resolved since are dropped, the saved ones get their state back', () => {
    const n = new NeighTable();
    const a = n.create('eth0', '10.0.0.1', 'REACHABLE', 0, '0a:00:00:00:00:01');
    n.create('eth0', '10.0.0.2', 'STALE', 0, '0a:00:00:00:00:02');
    const saved = n.list(0).map((e) => ({ ...e }));
    const back = n.snapshot();
    a.state = 'DELAY';
    a.updated = 5;
    n.create('eth0', '10.0.0.3', 'INCOMPLETE', 5);
    back();
    expect(n.list(0)).toEqual(saved);
    expect(n.get('eth0', '10.0.0.1', 0)).toBe(a);
  });

  it('connections: connections made since are dropped, the saved ones get their state back', () => {
    const s = new SocketTable();
    const c: Connection = {
      proto: 'tcp',
      local: '10.0.0.1',
      lport: 40000,
      remote: '10.0.0.2',
      rport: 80,
      state: 'SYN_SENT',
    };
    s.addConnection(c);
    const back = s.snapshotConnections();
    c.state = 'ESTABLISHED';
    s.addConnection({ ...c, lport: 40001 });
    back();
    expect(s.listConnections()).toEqual([{ ...c, state: 'SYN_SENT' }]);
    expect(s.listConnections()[0]).toBe(c);
  });

  it("a bridge's forwarding database: addresses learned since are dropped", () => {
    const net = new Network();
    const h = net.addHost('n');
    h.link.addBridge('br0', { mac: '02:00:00:00:00:01' });
    h.link.addVeth('v1', { peer: 'p1', mac: '0a:00:00:00:00:09' });
    h.link.set('v1', { master: 'br0' });
    const bridge = h.getLink('br0')!.bridge!;
    const shown = bridgeFdbShow(h);
    const entries = [...bridge.fdb.values()];
    const seq = bridge.fdbSeq;
    const back = h.coldSnapshot()!;
    bridge.fdb.set('0a:00:00:00:00:77', {
      mac: '0a:00:00:00:00:77',
      port: 'v1',
      local: false,
      permanent: false,
      updated: 3,
      seq: ++bridge.fdbSeq,
    });
    entries[0]!.updated = 3;
    expect(bridgeFdbShow(h)).not.toBe(shown);
    back();
    expect(bridgeFdbShow(h)).toBe(shown);
    expect(bridge.fdbSeq).toBe(seq);
    expect([...bridge.fdb.values()]).toEqual(entries.map((e) => ({ ...e, updated: 0 })));
    expect([...bridge.fdb.values()].every((e, i) => e === entries[i])).toBe(true);
  });
});
