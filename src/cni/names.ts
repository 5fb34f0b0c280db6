/**
 * Names the plugins derive. The real plugins use random bytes or the
 * container id; the twin has neither, so it derives them from the pod's
 * namespace/name, deterministically, and says so in the trace defaults.
 */
import { createHash } from 'node:crypto';

/** FNV-1a 32-bit, as 8 hex digits. */
export function fnv1a32(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * The host end of a pod's veth: `veth` + 8 hex chars, like
 * plugins/pkg/ip/link_linux.go RandomVethName (4 random bytes there; here a
 * hash of `ns/name` so the same pod always gets the same name).
 */
export function vethName(podKey: string): string {
  return `veth${fnv1a32(podKey)}`;
}

/** A stand-in container id (64 hex chars, like a runtime's): sha256 of `ns/name`. */
export function containerId(podKey: string): string {
  return createHash('sha256').update(podKey).digest('hex');
}

/**
 * plugins/pkg/utils/utils.go FormatChainName / MustFormatChainNameWithPrefix:
 * `CNI-` + the first 24 hex chars of sha512(name + id).
 */
export function cniChainName(network: string, id: string, prefix = 'CNI-'): string {
  const h = createHash('sha512')
    .update(network + id)
    .digest('hex');
  return `${prefix}${h.slice(0, 28 - prefix.length)}`;
}
