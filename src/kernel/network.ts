/**
 * A Network owns hosts (namespaces) and carries frames between them,
 * deterministically: frames in flight wait in one FIFO and are delivered one
 * at a time until none is left. Whatever the stack does with a frame may put
 * more frames on the queue (a bridge flood, an ARP reply, the packet that
 * waited for it). When the queue is empty and a neighbour still waits for an
 * ARP answer, the network lets the kernel's retries run out (3 × 1 s of
 * simulated time) and the waiting packets fail.
 *
 * Beyond the hosts: an `ether` device can be wired to a Segment (a learning
 * L2 switch shared by several hosts, e.g. the node underlay) or to a world
 * endpoint, where a frame leaves the modelled world (the fabric layer takes
 * it from there).
 */
import type { Ipv4Packet } from '../wire/packet.js';
import type { Mac } from '../wire/ethernet.js';
import { isMulticastMac } from '../wire/ethernet.js';
import { primaryFate, type Fate, type Response } from './fate.js';
import { describeFrame, type Frame } from './frame.js';
import { kernelError } from './errors.js';
import { FRESH_META, type SkbMeta } from './hooks.js';
import { Host, type HostNetwork, type RunOptions, type RunResult } from './host.js';

export type { RunOptions, RunResult };
import { deriveMac, type Link } from './link.js';
import { arpReplyTo } from '../wire/arp.js';
import { SeededChooser } from './random.js';
import {
  failPendingNeighbours,
  linkReceive,
  localSend,
  type Delivery,
  type SendOptions,
  type Sim,
} from './stack/index.js';
import { NULL_RECORDER } from './step.js';

/** One `attach`: `host`'s ether device `dev` plugged into `segment`. */
export interface Attachment {
  readonly host: string;
  readonly dev: string;
  readonly segment: string;
}

interface Segment {
  readonly name: string;
  readonly members: { host: string; dev: string }[];
  readonly fdb: Map<Mac, number>;
}

const DEFAULT_MAX_FRAMES = 100_000;

export class Network {
  private readonly hostMap = new Map<string, Host>();
  private readonly segments = new Map<string, Segment>();
  private clock = 0;
  /** Every host a run has handed a frame to or sent from (what coldSnapshot puts back). */
  private readonly touched = new Set<string>();
  /** Every attach, in order. */
  private readonly attached: Attachment[] = [];
  /** What the hosts see of this network. */
  private readonly view: HostNetwork = {
    host: (n) => this.hostMap.get(n),
    now: () => this.clock,
    send: (host, packet, opts) => this.send(host, packet, opts),
  };

  /** A new namespace (`ip netns add NAME`), lo down unless `loopbackUp`. */
  addHost(name: string, opts: { loopbackUp?: boolean } = {}): Host {
    if (this.hostMap.has(name))
      throw kernelError('EEXIST', `Cannot create namespace file "/run/netns/${name}": File exists`);
    const h = new Host(name, this.view);
    this.hostMap.set(name, h);
    if (opts.loopbackUp) h.link.set('lo', { up: true });
    return h;
  }

  /**
   * Namespaces made in another network, taken over as they are (the same
   * objects: their links, addresses, routes, rules and state): from now on
   * they live here — their veth peers are looked up here, their clock is this
   * network's. Plugging their devices into this network's segments is the
   * caller's (`attach`); the network they came from must not run them again.
   */
  adopt(hosts: readonly Host[]): void {
    for (const h of hosts)
      if (this.hostMap.has(h.name))
        throw kernelError(
          'EEXIST',
          `Cannot create namespace file "/run/netns/${h.name}": File exists`,
        );
    for (const h of hosts) {
      h.moveTo(this.view);
      this.hostMap.set(h.name, h);
    }
  }

  /** Every `attach` made so far, in order. */
  attachments(): readonly Attachment[] {
    return this.attached;
  }

  /** The segments, in the order they were added. */
  segmentNames(): string[] {
    return [...this.segments.keys()];
  }

  /** Whether a run has handed `host` a frame or sent from it (since the last coldSnapshot). */
  wasTouched(host: string): boolean {
    return this.touched.has(host);
  }

  host(name: string): Host | undefined {
    return this.hostMap.get(name);
  }

  requireHost(name: string): Host {
    const h = this.hostMap.get(name);
    if (!h)
      throw kernelError(
        'ENOENT',
        `Cannot open network namespace "${name}": No such file or directory`,
      );
    return h;
  }

  hosts(): Host[] {
    return [...this.hostMap.values()];
  }

  /**
   * The network as it is now, to come back to: every host's coldSnapshot, the
   * segments' learnt stations and the clock. Undefined when a host cannot be
   * put back (its netfilter keeps state it cannot drop).
   */
  coldSnapshot(): (() => void) | undefined {
    const hosts = new Map<string, () => void>();
    for (const h of this.hostMap.values()) {
      const back = h.coldSnapshot();
      if (!back) return undefined;
      hosts.set(h.name, back);
    }
    const segments = [...this.segments.values()].map((s) => ({ s, fdb: [...s.fdb] }));
    const clock = this.clock;
    this.touched.clear();
    return () => {
      // Only hosts a run has touched since can have changed (Network.run).
      for (const name of this.touched) hosts.get(name)?.();
      this.touched.clear();
      for (const { s, fdb } of segments) {
        s.fdb.clear();
        for (const [mac, i] of fdb) s.fdb.set(mac, i);
      }
      this.clock = clock;
    };
  }

  /** Simulated time, seconds. */
  now(): number {
    return this.clock;
  }

  advance(seconds: number): void {
    if (seconds < 0) throw new RangeError('time only moves forward');
    this.clock += seconds;
  }

  /** An L2 segment (switch) that `ether` devices can be plugged into. */
  addSegment(name: string): void {
    if (this.segments.has(name))
      throw kernelError('EEXIST', `segment ${JSON.stringify(name)} already exists`);
    this.segments.set(name, { name, members: [], fdb: new Map() });
  }

  /** Plugs `host`'s ether device `dev` into segment `segment`. */
  attach(host: string, dev: string, segment: string): void {
    const s = this.segments.get(segment);
    if (!s) throw kernelError('ENOENT', `no segment ${JSON.stringify(segment)}`);
    this.requireHost(host).link.setWire(dev, { kind: 'segment', segment });
    s.members.push({ host, dev });
    this.attached.push({ host, dev, segment });
  }

  /** Connects `host`'s ether device `dev` to the world outside the model. */
  attachWorld(host: string, dev: string, endpoint: string): void {
    this.requireHost(host).link.setWire(dev, { kind: 'world', endpoint });
  }

  /** A process on `host` sends `packet` (source 0.0.0.0 = chosen by routing); runs until the network is quiet. */
  send(host: string, packet: Ipv4Packet, opts: SendOptions & RunOptions = {}): RunResult {
    const h = this.requireHost(host);
    return this.run(opts, h.name, (sim) => localSend(h, packet, opts, sim));
  }

  /** Sends a packet the stack generated in answer (SYN-ACK, RST, ICMP error) from its host. */
  respond(r: Response, opts: RunOptions = {}): RunResult {
    const h = this.requireHost(r.host);
    return this.run(opts, h.name, (sim) =>
      localSend(h, r.packet, { meta: r.meta, socket: false, anySource: true }, sim),
    );
  }

  /** A frame arrives on `dev` of `host` from outside (the world, a test). */
  inject(
    host: string,
    dev: string,
    frame: Frame,
    opts: RunOptions & { meta?: SkbMeta } = {},
  ): RunResult {
    this.requireHost(host);
    return this.run(opts, host, (sim) =>
      sim.enqueue({ host, dev, frame, meta: opts.meta ?? FRESH_META }),
    );
  }

  private run(opts: RunOptions, origin: string, start: (sim: Sim) => void): RunResult {
    /** Hosts that took part in this run (only they can have neighbours waiting). */
    const touched = new Set<string>([origin]);
    this.touched.add(origin);
    const queue: Delivery[] = [];
    let head = 0;
    const fates: Fate[] = [];
    const rec = opts.recorder ?? NULL_RECORDER;
    const sim: Sim = {
      rec,
      chooser: opts.chooser ?? new SeededChooser(1),
      now: () => this.clock,
      host: (n) => this.hostMap.get(n),
      enqueue: (d) => {
        queue.push(d);
      },
      fate: (f) => {
        fates.push(f);
      },
      wire: (h, link, frame, meta) => this.wire(sim, h, link, frame, meta),
    };
    start(sim);
    const max = opts.maxFrames ?? DEFAULT_MAX_FRAMES;
    let frames = 0;
    for (;;) {
      while (head < queue.length) {
        const d = queue[head++]!;
        if (++frames > max) {
          rec.record({
            kind: 'drop',
            host: d.host,
            summary: `drop (loop-limit): more than ${max} frames in one run`,
          });
          fates.push({
            kind: 'dropped',
            host: d.host,
            reason: 'loop-limit',
            detail: `more than ${max} frames in one run`,
          });
          return { fates, outcome: primaryFate(fates) };
        }
        const h = this.hostMap.get(d.host);
        if (h) {
          touched.add(h.name);
          this.touched.add(h.name);
          linkReceive(h, d, sim);
        }
      }
      // Quiet: neighbours still waiting give up after their probes. Only hosts that took part can be waiting.
      const waiting = [...touched]
        .map((n) => this.hostMap.get(n)!)
        .filter((h) => h.neighbours.pending().length > 0);
      if (waiting.length === 0) break;
      this.clock += 3;
      for (const h of waiting) failPendingNeighbours(h, sim);
    }
    return { fates, outcome: primaryFate(fates) };
  }

  private wire(sim: Sim, h: Host, link: Link, frame: Frame, meta: SkbMeta): void {
    const w = link.wire;
    switch (w.kind) {
      case 'none': {
        const pkt = frame.payload.kind === 'ipv4' ? frame.payload.packet : undefined;
        sim.rec.record({
          kind: 'drop',
          host: h.name,
          summary: `drop (link-down): ${link.name} has no carrier (no wire)`,
        });
        sim.fate({
          kind: 'dropped',
          host: h.name,
          reason: 'link-down',
          detail: `${link.name} has no carrier`,
          ...(pkt ? { packet: pkt } : {}),
        });
        return;
      }
      case 'world':
        if (frame.payload.kind === 'arp' && frame.payload.op === 'request') {
          // The world's edge answers ARP like a cloud gateway (GCE's answers every who-has with its own MAC),
          // so packets can leave; the fabric layer replaces this endpoint with a real model.
          const mac = deriveMac('world', w.endpoint);
          const reply = arpReplyTo(frame.payload, mac);
          sim.rec.record({
            kind: 'fabric',
            host: h.name,
            summary: `${w.endpoint}: arp reply ${reply.senderIp} is-at ${mac} (the world's edge answers every who-has)`,
          });
          sim.enqueue({
            host: h.name,
            dev: link.name,
            frame: { src: mac, dst: frame.src, payload: reply },
            meta: FRESH_META,
          });
          return;
        }
        sim.rec.record({
          kind: 'fabric',
          host: h.name,
          summary: `${link.name}: leaves the modelled world towards ${w.endpoint}: ${describeFrame(frame)}`,
          ...(frame.payload.kind === 'ipv4' ? { packet: frame.payload.packet } : {}),
          detail: { endpoint: w.endpoint },
        });
        sim.fate({
          kind: 'left-model',
          host: h.name,
          dev: link.name,
          endpoint: w.endpoint,
          frame,
          meta,
        });
        return;
      case 'segment': {
        const s = this.segments.get(w.segment);
        if (!s) return;
        const from = s.members.findIndex((m) => m.host === h.name && m.dev === link.name);
        if (from >= 0 && !isMulticastMac(frame.src)) s.fdb.set(frame.src, from);
        const known = isMulticastMac(frame.dst) ? undefined : s.fdb.get(frame.dst);
        const targets =
          known !== undefined ? [known] : s.members.map((_, i) => i).filter((i) => i !== from);
        sim.rec.record({
          kind: 'fabric',
          host: h.name,
          summary: `segment ${s.name}: ${frame.dst} → ${targets.map((i) => `${s.members[i]!.host}/${s.members[i]!.dev}`).join(', ') || '(nobody)'}`,
          detail: { segment: s.name },
        });
        for (const i of targets) {
          if (i === from) continue;
          const m = s.members[i]!;
          sim.enqueue({ host: m.host, dev: m.dev, frame, meta: FRESH_META });
        }
        return;
      }
    }
  }
}
