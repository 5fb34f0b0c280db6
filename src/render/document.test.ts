import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STEP_DETAIL_FIELDS } from '../trace/validate.js';
import { API_VERSION, DOCUMENT_KINDS, document, documentHead } from './document.js';
import { readSchema, SCHEMA_DIR, schemaErrors } from './testing/schema.js';

/**
 * The Trace schema's step details, generated from the table validateTrace
 * checks (trace/validate.ts): one `if kind … then detail …` per step kind.
 * `UPDATE_SCHEMA=1` writes them into schema/trace.schema.json.
 */
function stepDetailSchema(): { kinds: string[]; allOf: unknown[] } {
  const json = (t: string) =>
    t === 'string|number'
      ? { type: ['string', 'number'] }
      : { type: t === 'number' ? 'number' : t };
  const kinds = Object.keys(STEP_DETAIL_FIELDS);
  const allOf = Object.entries(STEP_DETAIL_FIELDS).map(([kind, fields]) => {
    const specs = Object.entries(fields as Record<string, string>);
    return {
      if: { properties: { kind: { const: kind } } },
      then: {
        properties: {
          detail: {
            type: 'object',
            required: specs.filter(([, s]) => !s.endsWith('?')).map(([k]) => k),
            additionalProperties: false,
            properties: Object.fromEntries(specs.map(([k, s]) => [k, json(s.replace(/\?$/, ''))])),
          },
        },
      },
    };
  });
  return { kinds, allOf };
}

describe('document headers', () => {
  it('puts apiVersion and kind first', () => {
    expect(Object.keys(document('Trace', { a: 1 }))).toEqual(['apiVersion', 'kind', 'a']);
    expect(JSON.parse(`${documentHead('NodeDrift')}"x":1}`)).toEqual({
      apiVersion: API_VERSION,
      kind: 'NodeDrift',
      x: 1,
    });
  });

  it('has a schema for every kind, and every schema in schema/ is a kind', () => {
    const files = readdirSync(SCHEMA_DIR).filter(
      (f) => f.endsWith('.schema.json') && f !== 'connectivity-expectations.schema.json',
    );
    expect(files.sort()).toEqual(Object.values(DOCUMENT_KINDS).sort());
    for (const [kind, file] of Object.entries(DOCUMENT_KINDS)) {
      const s = readSchema(kind as keyof typeof DOCUMENT_KINDS) as {
        title: string;
        required: string[];
        properties: Record<string, { const?: string }>;
      };
      expect(s.title, file).toBe(kind);
      expect(s.required.slice(0, 2), file).toEqual(['apiVersion', 'kind']);
      expect(s.properties['apiVersion']?.const, file).toBe(API_VERSION);
      expect(s.properties['kind']?.const, file).toBe(kind);
    }
  });

  it('refuses a document without its header, or with a wrong field', () => {
    expect(schemaErrors({ kind: 'Nope' })[0]).toMatch(/kind "Nope" is not one of/);
    expect(schemaErrors({ kind: 'Trace' })[0]).toMatch(/apiVersion is not/);
    expect(schemaErrors({ apiVersion: API_VERSION, kind: 'Trace' }).join('\n')).toMatch(
      /must have required property 'request'/,
    );
  });
});

describe('the Trace schema', () => {
  const path = join(SCHEMA_DIR, DOCUMENT_KINDS.Trace);
  const schema = JSON.parse(readFileSync(path, 'utf8')) as {
    $defs: { step: { properties: { kind: { enum: string[] } }; allOf: unknown[] } };
  };
  it('holds each step kind`s detail exactly as validateTrace does', () => {
    const want = stepDetailSchema();
    if (process.env['UPDATE_SCHEMA'] === '1') {
      schema.$defs.step.properties.kind.enum = want.kinds;
      schema.$defs.step.allOf = want.allOf;
      writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
    }
    expect(schema.$defs.step.properties.kind.enum).toEqual(want.kinds);
    expect(schema.$defs.step.allOf).toEqual(want.allOf);
  });

  it('refuses a step detail the model does not document', () => {
    const golden = document(
      'Trace',
      JSON.parse(readFileSync('test/golden/calico-ipip-pod-to-internet.json', 'utf8')) as {
        request: { hops: { steps: { detail?: Record<string, unknown> }[] }[] };
      },
    );
    expect(schemaErrors(golden)).toEqual([]);
    golden.request.hops[0]!.steps[0]!.detail = {
      ...golden.request.hops[0]!.steps[0]!.detail,
      x: 1,
    };
    expect(schemaErrors(golden).join('\n')).toMatch(/must NOT have additional properties/);
  });
});
