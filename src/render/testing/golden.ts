/**
 * The golden-trace harness shared by the trace test suites
 * (src/trace/golden.test.ts, src/trace/policy.test.ts,
 * test/integration/overlay.golden.test.ts, test/integration/edge-seeds.test.ts): plan an example
 * cluster from examples/NAME.yaml, and compare a rendered trace byte for byte
 * with test/golden/NAME.{txt,json}. After an intended change, regenerate with
 *
 *   UPDATE_GOLDEN=1 npx vitest run src/trace src/cni src/fabric
 *
 * and review the diff like code. Test-only (tsconfig.build.json leaves
 * `testing/` out of the build).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { loadDocuments } from '../../k8s/load.js';
import { buildModel } from '../../k8s/model.js';
import { traceDocument } from '../document.js';
import { renderTraceText } from '../trace.js';
import { schemaErrors } from './schema.js';
import { validateTrace } from '../../trace/validate.js';
import { planTwin, type TwinPlan } from '../../twin/index.js';
import type { ConnectionTrace } from '../../trace/model.js';

const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

const plans = new Map<string, TwinPlan>();

/**
 * The twin plan for examples/NAME.yaml, optionally with its text edited (a
 * documented variant; the edit must change the text). The example must load
 * and build without error diagnostics. Plans are cached per example and edit.
 */
export function planExample(example: string, edit?: (s: string) => string): TwinPlan {
  const key = `${example}${edit ? `#${edit.toString()}` : ''}`;
  let p = plans.get(key);
  if (!p) {
    const path = `examples/${example}.yaml`;
    const text0 = readFileSync(path, 'utf8');
    const text = edit ? edit(text0) : text0;
    if (edit) expect(text).not.toBe(text0);
    const loaded = loadDocuments([{ path, text }]);
    // As the CLI reads it: the objects and the evidence detection reads.
    const built = buildModel(loaded.objects, loaded.evidence);
    expect(
      [...loaded.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error'),
    ).toEqual([]);
    p = planTwin(built.model);
    plans.set(key, p);
  }
  return p;
}

/**
 * Compares each `files[ext]` with test/golden/NAME.EXT byte for byte; writes
 * the file first under UPDATE_GOLDEN=1 or when it does not exist yet.
 */
export function expectGolden(name: string, files: Readonly<Record<string, string>>): void {
  for (const [ext, text] of Object.entries(files)) {
    const path = `test/golden/${name}.${ext}`;
    if (UPDATE || !existsSync(path)) writeFileSync(path, text);
    expect(text, path).toBe(readFileSync(path, 'utf8'));
  }
}

/**
 * A connection trace's golden pair: the text view (NAME.txt; by default
 * renderTraceText's) and the Trace document (NAME.json), after validateTrace
 * found the trace whole and the document validated against its schema.
 */
export function expectTraceGolden(
  name: string,
  t: ConnectionTrace,
  text: string = renderTraceText(t),
): void {
  expect(validateTrace(t), `${name}: the trace model's invariants`).toEqual([]);
  const doc = traceDocument(t);
  expect(schemaErrors(JSON.parse(JSON.stringify(doc))), `${name}: the Trace schema`).toEqual([]);
  expectGolden(name, { txt: text, json: `${JSON.stringify(doc, null, 2)}\n` });
}
