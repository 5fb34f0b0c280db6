/**
 * TCP connection tracking: the state machine and window checks of
 * net/netfilter/nf_conntrack_proto_tcp.c (tcp_conntracks[][][], tcp_new,
 * tcp_packet, tcp_in_window, tcp_error's valid-flags table), as in Linux 6.x.
 *
 * Not modelled: TCP options (window scaling, SACK — packets carry none, so
 * scale is 0), NAT sequence adjustment (no helpers), and the
 * retransmission counter's shorter timeout.
 */
import type { TcpSegment } from '../../wire/packet.js';

export type TcpState =
  | 'NONE'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'SYN_SENT2';

const STATES: readonly TcpState[] = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

/** Per-direction window data (`struct ip_ct_tcp_state`). */
export interface TcpSeen {
  readonly end: number;
  readonly maxend: number;
  readonly maxwin: number;
  readonly maxack?: number;
  readonly beLiberal: boolean;
  readonly closeInit: boolean;
  readonly dataUnacked: boolean;
}

export interface TcpCt {
  readonly state: TcpState;
  /** [original sender, reply sender] */
  readonly seen: readonly [TcpSeen, TcpSeen];
  readonly lastIndex: Index;
  readonly lastDir: 0 | 1;
  readonly lastEnd: number;
}

/** get_conntrack_index: which row of the table a segment uses. */
export type Index = 'syn' | 'synack' | 'fin' | 'ack' | 'rst' | 'none';

export function indexOf(t: TcpSegment): Index {
  const f = t.flags;
  if (f.rst) return 'rst';
  if (f.syn) return f.ack ? 'synack' : 'syn';
  if (f.fin) return 'fin';
  if (f.ack) return 'ack';
  return 'none';
}

// sIV = invalid, sIG = ignore.
type Next = TcpState | 'IV' | 'IG';
const sNO = 'NONE',
  sSS = 'SYN_SENT',
  sSR = 'SYN_RECV',
  sES = 'ESTABLISHED',
  sFW = 'FIN_WAIT',
  sCW = 'CLOSE_WAIT',
  sLA = 'LAST_ACK',
  sTW = 'TIME_WAIT',
  sCL = 'CLOSE',
  sS2 = 'SYN_SENT2',
  sIV = 'IV',
  sIG = 'IG';
void sNO;

/** tcp_conntracks[dir][index][old state], columns in the order of STATES. */
const TABLE: Readonly<Record<0 | 1, Readonly<Record<Index, readonly Next[]>>>> = {
  0: {
    syn: [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
    synack: [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
    fin: [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    ack: [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
    rst: [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    none: [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  },
  1: {
    syn: [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
    synack: [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    fin: [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    ack: [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
    rst: [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    none: [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  },
};

export function nextState(dir: 0 | 1, index: Index, old: TcpState): Next {
  return TABLE[dir][index][STATES.indexOf(old)]!;
}

/** Default timeouts, seconds (Documentation/networking/nf_conntrack-sysctl.rst). */
export const TCP_TIMEOUTS: Readonly<Record<TcpState | 'UNACK', number>> = {
  NONE: 0,
  SYN_SENT: 120,
  SYN_RECV: 60,
  ESTABLISHED: 432000,
  FIN_WAIT: 120,
  CLOSE_WAIT: 60,
  LAST_ACK: 30,
  TIME_WAIT: 120,
  CLOSE: 10,
  SYN_SENT2: 120,
  UNACK: 300,
};

/**
 * tcp_error: flag combinations conntrack accepts (PSH, ECE, CWR ignored).
 * Anything else is INVALID before any lookup.
 */
export function validFlags(t: TcpSegment): boolean {
  const f = t.flags;
  const key = `${f.fin ? 'F' : ''}${f.syn ? 'S' : ''}${f.rst ? 'R' : ''}${f.ack ? 'A' : ''}${f.urg ? 'U' : ''}`;
  return VALID.has(key);
}
const VALID = new Set(['S', 'SU', 'SA', 'R', 'RA', 'FA', 'FAU', 'A', 'AU']);

const u32 = (n: number): number => n >>> 0;
/** Sequence-space comparisons (`before`/`after` in include/net/tcp.h). */
const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const after = (a: number, b: number): boolean => before(b, a);

/** segment_seq_plus_len: SYN and FIN each take one sequence number. */
function segEnd(t: TcpSegment, payload: number): number {
  return u32(t.seq + payload + (t.flags.syn ? 1 : 0) + (t.flags.fin ? 1 : 0));
}

const EMPTY: TcpSeen = {
  end: 0,
  maxend: 0,
  maxwin: 0,
  beLiberal: false,
  closeInit: false,
  dataUnacked: false,
};

/**
 * tcp_new: a first segment with no entry. SYN starts SYN_SENT; any other
 * valid segment (table row NONE → ESTABLISHED, i.e. a plain ACK) is picked
 * up mid-stream only when `tcpLoose`, with liberal window checks. Returns
 * null when the kernel refuses to create an entry (the packet is INVALID).
 */
export function tcpNew(t: TcpSegment, payload: number, tcpLoose: boolean): TcpCt | null {
  const next = nextState(0, indexOf(t), 'NONE');
  if (next === 'IV' || next === 'IG') return null;
  const end = segEnd(t, payload);
  const maxwin = t.window === 0 ? 1 : t.window;
  if (next === 'SYN_SENT') {
    return {
      state: 'NONE',
      seen: [{ ...EMPTY, end, maxend: end, maxwin }, EMPTY],
      lastIndex: 'none',
      lastDir: 0,
      lastEnd: 0,
    };
  }
  if (!tcpLoose) return null;
  const liberal = { ...EMPTY, beLiberal: true };
  return {
    state: 'NONE',
    seen: [{ ...liberal, end, maxend: u32(end + maxwin), maxwin }, liberal],
    lastIndex: 'none',
    lastDir: 0,
    lastEnd: 0,
  };
}

export type TcpVerdict =
  | {
      readonly kind: 'ok';
      readonly ct: TcpCt;
      readonly timeout: number;
      readonly killIfNoReply: boolean;
    }
  | { readonly kind: 'ignored'; readonly ct: TcpCt; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string }
  /** tcp_packet asks to delete the old entry and look up again (reopened connection). */
  | { readonly kind: 'reopen' };

/**
 * tcp_packet: advance the state machine for a segment of an existing entry.
 * `seenReply`/`assured` are the entry's status bits.
 */
export function tcpPacket(
  ct: TcpCt,
  dir: 0 | 1,
  t: TcpSegment,
  payload: number,
  beLiberal: boolean,
): TcpVerdict {
  const old = ct.state;
  const index = indexOf(t);
  let next = nextState(dir, index, old);
  let cur = ct;
  const end = segEnd(t, payload);
  switch (next) {
    case 'SYN_SENT':
    case 'IG':
      if (next === 'SYN_SENT') {
        if (STATES.indexOf(old) < STATES.indexOf('TIME_WAIT')) break;
        if (
          cur.seen[0].closeInit ||
          cur.seen[1].closeInit ||
          (cur.lastDir === dir && cur.lastIndex === 'rst')
        ) {
          return { kind: 'reopen' };
        }
        // A SYN in TIME_WAIT/CLOSE without a close seen is handled like an ignored one.
      }
      if (
        index === 'synack' &&
        cur.lastIndex === 'syn' &&
        cur.lastDir !== dir &&
        t.ack === cur.lastEnd
      ) {
        // b) a SYN/ACK answering a SYN we ignored: resync.
        const seen: [TcpSeen, TcpSeen] = [cur.seen[0], cur.seen[1]];
        seen[cur.lastDir] = { ...EMPTY, end: cur.lastEnd, maxend: cur.lastEnd, maxwin: 1 };
        seen[dir] = EMPTY;
        cur = { ...cur, state: 'SYN_SENT', seen };
        next = 'SYN_RECV';
        break;
      }
      return {
        kind: 'ignored',
        ct: { ...cur, lastIndex: index, lastDir: dir, lastEnd: end },
        reason: `segment ignored in state ${old} (nf_ct_tcp: invalid packet ignored)`,
      };
    case 'IV':
      return {
        kind: 'invalid',
        reason: `invalid ${index} segment in state ${old} (nf_ct_tcp: invalid state)`,
      };
    case 'CLOSE': {
      const other = cur.seen[dir === 0 ? 1 : 0];
      if (index === 'rst' && other.maxack !== undefined && before(t.seq, other.maxack)) {
        return {
          kind: 'invalid',
          reason: "RST with sequence number below the peer's highest ACK (nf_ct_tcp: invalid RST)",
        };
      }
      break;
    }
    default:
      break;
  }
  const win = inWindow(cur, dir, t, payload, end, beLiberal);
  if (win.kind === 'invalid') return win;
  // NFCT_TCP_IGNORE: the packet passes with its entry, nothing is updated.
  if (win.kind === 'ignored') return { kind: 'ignored', ct: cur, reason: win.reason };
  const after_ = win.ct;
  const state = next as TcpState;
  const seen: [TcpSeen, TcpSeen] = [after_.seen[0], after_.seen[1]];
  if (old !== state && state === 'FIN_WAIT') seen[dir] = { ...seen[dir]!, closeInit: true };
  const unacked = seen[0].dataUnacked || seen[1].dataUnacked;
  let timeout = TCP_TIMEOUTS[state];
  if (unacked && timeout > TCP_TIMEOUTS.UNACK) timeout = TCP_TIMEOUTS.UNACK;
  return {
    kind: 'ok',
    ct: { ...after_, state, seen, lastIndex: index, lastDir: dir },
    timeout,
    killIfNoReply: t.flags.rst,
  };
}

/**
 * tcp_in_window as in Linux 6.x (after the 2022 rework): the sequence upper
 * bound (I) and the ACK upper bound (III) make a segment INVALID; a segment
 * below the receive window (II) or an ACK below the lower bound (IV) is
 * IGNOREd (accepted, state left alone). There is no exemption for segments
 * without data any more. Liberal entries (picked up mid-stream, or
 * nf_conntrack_tcp_be_liberal=1) accept everything here (nf_tcp_log_invalid);
 * out-of-window RSTs are still caught by tcp_packet's CLOSE check.
 */
function inWindow(
  ct: TcpCt,
  dir: 0 | 1,
  t: TcpSegment,
  payload: number,
  endIn: number,
  beLiberal: boolean,
):
  | { kind: 'ok'; ct: TcpCt }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string } {
  void payload;
  const rdir = dir === 0 ? 1 : 0;
  let sender = ct.seen[dir];
  let receiver = ct.seen[rdir];
  let seq = u32(t.seq);
  let ack = u32(t.ack);
  const win = t.window;
  let end = endIn;
  if (sender.maxwin === 0) {
    if (t.flags.syn) {
      // tcp_init_sender
      sender = { ...sender, end, maxend: end, maxwin: win === 0 ? 1 : win };
      if (!t.flags.ack) return { kind: 'ok', ct: withSeen(ct, dir, sender, receiver) };
    } else {
      const maxwin = win === 0 ? 1 : win;
      sender = { ...sender, end, maxwin, maxend: u32(end + maxwin) };
      if (receiver.maxwin === 0) receiver = { ...receiver, end: ack, maxend: ack };
      else if (ack === u32(receiver.end + 1))
        receiver = { ...receiver, end: u32(receiver.end + 1) };
    }
  } else if (
    t.flags.syn &&
    after(end, sender.end) &&
    (ct.state === 'SYN_SENT' || ct.state === 'SYN_RECV')
  ) {
    // Re-init for a retransmitted SYN(/ACK) with new values.
    sender = { ...sender, end, maxend: end, maxwin: win === 0 ? 1 : win };
    if (dir === 1 && !t.flags.ack) return { kind: 'ok', ct: withSeen(ct, dir, sender, receiver) };
  }
  if (!t.flags.ack || (t.flags.rst && ack === 0)) ack = receiver.end;
  if (t.flags.rst && seq === 0 && ct.state === 'SYN_SENT') seq = end = sender.end;
  const liberal = sender.beLiberal || beLiberal;
  const unchanged = { kind: 'ok' as const, ct: withSeen(ct, dir, sender, receiver) };
  const maxAckWin = sender.maxwin > 66000 ? sender.maxwin : 66000;
  if (!before(seq, u32(sender.maxend + 1))) {
    const overshot = u32(end - sender.maxend + 1);
    const ackOk = after(ack, u32(receiver.end - maxAckWin - 1));
    const inRecv = receiver.maxwin !== 0 && after(end, u32(sender.end - receiver.maxwin - 1));
    if (inRecv && ackOk && overshot <= receiver.maxwin && before(ack, u32(receiver.end + 1))) {
      // A sender overshooting the receive window a little: accepted, td_end moves.
      return { kind: 'ok', ct: withSeen(ct, dir, { ...sender, end, dataUnacked: true }, receiver) };
    }
    if (liberal) return unchanged;
    return {
      kind: 'invalid',
      reason: 'nf_ct_tcp: SEQ is over upper bound (over the window of the receiver)',
    };
  }
  if (!before(ack, u32(receiver.end + 1))) {
    if (liberal) return unchanged;
    return {
      kind: 'invalid',
      reason: 'nf_ct_tcp: ACK is over upper bound (ACKed data not seen yet)',
    };
  }
  const inRecv = receiver.maxwin === 0 || after(end, u32(sender.end - receiver.maxwin - 1));
  if (!inRecv) {
    if (liberal) return unchanged;
    return {
      kind: 'ignored',
      reason: 'nf_ct_tcp: SEQ is under lower bound (already ACKed data retransmitted)',
    };
  }
  if (!after(ack, u32(receiver.end - maxAckWin - 1))) {
    if (liberal) return unchanged;
    return {
      kind: 'ignored',
      reason: 'nf_ct_tcp: ignored ACK under lower bound (possible overly delayed)',
    };
  }
  const swin = u32(win);
  if (sender.maxwin < swin) sender = { ...sender, maxwin: swin };
  if (after(end, sender.end)) sender = { ...sender, end, dataUnacked: true };
  if (t.flags.ack && (sender.maxack === undefined || after(ack, sender.maxack)))
    sender = { ...sender, maxack: ack };
  if (receiver.maxwin !== 0 && after(end, sender.maxend)) {
    receiver = { ...receiver, maxwin: u32(receiver.maxwin + (end - sender.maxend)) };
  }
  if (after(u32(ack + win), u32(receiver.maxend - 1))) {
    receiver = { ...receiver, maxend: u32(ack + win + (win === 0 ? 1 : 0)) };
  }
  if (ack === receiver.end) receiver = { ...receiver, dataUnacked: false };
  return { kind: 'ok', ct: withSeen(ct, dir, sender, receiver) };
}

function withSeen(ct: TcpCt, dir: 0 | 1, sender: TcpSeen, receiver: TcpSeen): TcpCt {
  return { ...ct, seen: dir === 0 ? [sender, receiver] : [receiver, sender] };
}
