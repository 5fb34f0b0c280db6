/**
 * The machine-readable documents: every `-o json|yaml` output is one object
 * with `apiVersion: packeteye.dev/v1alpha1` and a `kind`, one shape per kind,
 * each described by a JSON Schema in schema/ (DOCUMENT_KINDS names the file;
 * the README's "Output documents" lists them).
 * A change of shape is a change of version.
 *
 * The builders here return plain objects (the CLI serialises them, `serve`
 * answers with them); the big ones also have a streaming writer beside their
 * view (render/reach.ts).
 */
import type { Diagnostic } from '../diag.js';
import type { DnsView, IptablesTraceResult, L7Trace } from '../trace/model.js';
import { iptablesTraceJson } from './iptables-trace.js';

export const API_VERSION = 'packeteye.dev/v1alpha1';

/** Every kind packeteye writes, with the schema file that describes it. */
export const DOCUMENT_KINDS = {
  Trace: 'trace.schema.json',
  IptablesTrace: 'iptables-trace.schema.json',
  Reachability: 'reachability.schema.json',
  ReachabilityExplanation: 'reachability-explanation.schema.json',
  ReachabilityDiff: 'reachability-diff.schema.json',
  ConnectivityCheck: 'connectivity-check.schema.json',
  NodeDrift: 'node-drift.schema.json',
  DnsLookup: 'dns-lookup.schema.json',
  NodeRules: 'node-rules.schema.json',
  VswitchState: 'vswitch-state.schema.json',
} as const;

export type DocumentKind = keyof typeof DOCUMENT_KINDS;

/** A document's header. */
export interface DocumentHeader<K extends DocumentKind> {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: K;
}

/** `body` under the header of `kind`: the header first, as a reader expects it. */
export function document<K extends DocumentKind, B extends object>(
  kind: K,
  body: B,
): DocumentHeader<K> & B {
  return { apiVersion: API_VERSION, kind, ...body };
}

/** The header of `kind` as the opening of a JSON object, for streaming writers: `{"apiVersion":…,"kind":…,`. */
export function documentHead(kind: DocumentKind): string {
  return `{"apiVersion":${JSON.stringify(API_VERSION)},"kind":${JSON.stringify(kind)},`;
}

/** `packeteye trace -o json|yaml`: the connection trace (trace/model.ts) under its header. */
export function traceDocument(t: L7Trace): DocumentHeader<'Trace'> & L7Trace {
  return document('Trace', t);
}

/** `packeteye dns -o json|yaml`: a name's resolution through the twin (trace/dns.ts). */
export function dnsLookupDocument(
  lookup: DnsView,
): DocumentHeader<'DnsLookup'> & { lookup: DnsView } {
  return document('DnsLookup', { lookup });
}

/** `packeteye iptables trace -o json|yaml` (and `nft trace`, the same document). */
export function iptablesTraceDocument(
  r: IptablesTraceResult,
  rules: string | null,
  warnings: readonly Diagnostic[],
  files: { readonly ipsets?: string; readonly routes?: string; readonly ruleset?: string } = {},
): DocumentHeader<'IptablesTrace'> & object {
  return document('IptablesTrace', iptablesTraceJson(r, rules, warnings, files) as object);
}
