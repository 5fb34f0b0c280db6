/**
 * An in-memory Io (what a command prints is kept for the test to read) that
 * reads its input files from disk, as `packeteye serve` does when it starts
 * and reloads.
 */
import { readFileSync } from 'node:fs';
import { memoryIo } from '../io.js';

export function diskIo(): ReturnType<typeof memoryIo> {
  return Object.assign(memoryIo(), {
    readFile: (p: string) => readFileSync(p, 'utf8'),
    listDir: () => undefined,
  });
}
