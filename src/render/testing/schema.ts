/**
 * Validation of packeteye's documents against their JSON Schemas in schema/
 * (Ajv, JSON Schema draft 2020-12), for the tests: `expectDocument(text)`
 * parses a `-o json` output, finds its schema by `kind` and fails with Ajv's
 * errors. Test-only (kept out of the build with the rest of `testing/`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { API_VERSION, DOCUMENT_KINDS, type DocumentKind } from '../document.js';

export const SCHEMA_DIR = join(import.meta.dirname, '../../../schema');

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
const validators = new Map<DocumentKind, ValidateFunction>();

export function readSchema(kind: DocumentKind): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, DOCUMENT_KINDS[kind]), 'utf8')) as Record<
    string,
    unknown
  >;
}

let added = false;

function validatorOf(kind: DocumentKind): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    // A schema may refer to another's definitions by $id (DnsLookup to the Trace's `dns`).
    if (!added) {
      for (const k of Object.keys(DOCUMENT_KINDS) as DocumentKind[]) ajv.addSchema(readSchema(k));
      added = true;
    }
    const got = ajv.getSchema(readSchema(kind)['$id'] as string);
    if (!got) throw new Error(`schema ${DOCUMENT_KINDS[kind]} has no $id`);
    v = got;
    validators.set(kind, v);
  }
  return v;
}

/** The schema's complaints about `doc` (one line each; empty when it validates). */
export function schemaErrors(doc: unknown): string[] {
  const kind = (doc as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !(kind in DOCUMENT_KINDS))
    return [`kind ${JSON.stringify(kind)} is not one of ${Object.keys(DOCUMENT_KINDS).join(', ')}`];
  if ((doc as { apiVersion?: unknown }).apiVersion !== API_VERSION)
    return [`apiVersion is not ${API_VERSION}`];
  const v = validatorOf(kind as DocumentKind);
  if (v(doc)) return [];
  return (v.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** Parses a `-o json` output, checks it is a `kind` document and validates it; returns it. */
export function expectDocument<T = ReturnType<typeof JSON.parse>>(
  json: string,
  kind: DocumentKind,
): T {
  const doc = JSON.parse(json) as { kind?: unknown };
  expect(doc.kind).toBe(kind);
  expect(schemaErrors(doc), `${kind} against ${DOCUMENT_KINDS[kind]}`).toEqual([]);
  return doc as T;
}
