/** Test kit: the captured frames in test/fixtures/wire/captures.json, by name. */
import { readFileSync } from 'node:fs';
import { fromHex } from '../result.js';

interface CaptureFile {
  readonly source: string;
  readonly kernel: string;
  readonly frames: readonly { readonly name: string; readonly hex: string }[];
}

let cache: Map<string, Uint8Array> | undefined;

export function capturedFrames(): Map<string, Uint8Array> {
  if (cache === undefined) {
    const url = new URL('../../../test/fixtures/wire/captures.json', import.meta.url);
    const file = JSON.parse(readFileSync(url, 'utf8')) as CaptureFile;
    cache = new Map(file.frames.map((f) => [f.name, fromHex(f.hex)]));
  }
  return cache;
}

/** One captured frame; throws when the fixture lacks it (a broken fixture, not a test result). */
export function frame(name: string): Uint8Array {
  const f = capturedFrames().get(name);
  if (f === undefined) throw new Error(`no captured frame named ${name}`);
  return f;
}
