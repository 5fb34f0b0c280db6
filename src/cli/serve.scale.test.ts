/**
 * On the scale cluster (src/bench/scale-cluster.ts, 1,000 pods on 33 nodes,
 * 40 Services): the traces `packeteye serve` answers equal `trace -o json`
 * run on the same file, question by question, for pod → Service questions
 * spread over the cluster (each touching other nodes, lent from earlier
 * questions or built), asked in one server, with every default and with
 * only the touched ones.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaleClusterJson, scaleSize } from '../bench/scale-cluster.js';
import { scaleQuestion } from '../bench/serve.js';
import { memoryIo } from './io.js';
import { diskIo } from './testing/disk-io.js';
import { buildProgram, main } from './main.js';
import { loadCommands } from './commands.js';
import { startServe, type ServeHandle } from './serve.js';
import { sharedProgram } from './serve-api.js';

// buildProgram registers the loaded commands; main loads what its command line needs.
await loadCommands();

describe('serve on the scale cluster', () => {
  const size = scaleSize(1000);
  const dir = mkdtempSync(join(tmpdir(), 'pe-serve-scale-'));
  const file = join(dir, 'scale.json');
  let h: ServeHandle;
  beforeAll(async () => {
    writeFileSync(file, scaleClusterJson(size));
    h = await startServe(diskIo(), {
      files: [file],
      port: 0,
      program: sharedProgram((qio) => buildProgram(qio)),
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(
    [0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 2].flatMap((k) => [
      [k, 'all'] as const,
      [k, 'touched'] as const,
    ]),
  )('question %i, %s defaults: serve and trace -o json agree', async (k, defaults) => {
    const q = scaleQuestion(size, k);
    const r = await fetch(new URL(`/api/trace?${new URLSearchParams({ ...q, defaults })}`, h.url));
    expect(r.status).toBe(200);
    const served = ((await r.json()) as { answer: unknown }).answer;
    const io = memoryIo({ [file]: readFileSync(file, 'utf8') });
    const argv = ['trace', '-f', file, '--from', q.from, '--to', q.to, '--defaults', defaults];
    expect(await main([...argv, '-o', 'json'], io)).toBe(0);
    expect(served).toEqual(JSON.parse(io.stdout));
    expect((served as { request: { disposition: string } }).request.disposition).toBe('delivered');
  });
});
