/**
 * NF_HOOK as the stack calls it: one hook through the host's netfilter
 * (`kernel/hooks.ts` seam), its verdict written as steps, a DROP or REJECT
 * ending the packet with its reason and the kernel's answer.
 */
import { FRESH_META, type HookCall, type SkbMeta } from '../hooks.js';
import type { Host } from '../host.js';
import { drop, type PathSkb, type Sim } from './path.js';

/** The meta of a packet the kernel generates about one with `meta` (NetfilterHooks.related). */
export function relatedMeta(h: Host, meta: SkbMeta | undefined): SkbMeta {
  return meta !== undefined && h.netfilter.related ? h.netfilter.related(meta) : FRESH_META;
}

export function runHook(
  h: Host,
  sim: Sim,
  call: HookCall,
  skb: PathSkb,
): { skb: PathSkb; reroute: boolean } | undefined {
  const r = h.netfilter.hook(call, skb.packet, skb.meta, h, sim.rec, sim.chooser);
  switch (r.verdict) {
    case 'ACCEPT':
      return { skb: { ...skb, packet: r.packet, meta: r.meta }, reroute: r.rerouteNeeded ?? false };
    case 'DROP':
      drop(
        sim,
        h,
        r.reason ?? 'netfilter-drop',
        `${call.hook}${r.why ? `: ${r.why}` : ''}`,
        r.packet,
      );
      return undefined;
    case 'REJECT': {
      const resp = r.rejectResponse;
      drop(
        sim,
        h,
        'netfilter-reject',
        `${call.hook}${r.why ? `: ${r.why}` : ''}`,
        r.packet,
        resp
          ? { host: h.name, packet: resp, meta: relatedMeta(h, r.meta), by: 'REJECT' }
          : undefined,
      );
      return undefined;
    }
    case 'UNSUPPORTED':
      drop(sim, h, 'netfilter-unsupported', `${call.hook}${r.why ? `: ${r.why}` : ''}`, r.packet);
      return undefined;
  }
}
