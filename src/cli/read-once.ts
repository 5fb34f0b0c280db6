/**
 * An Io whose files are each read once: commands that read the same inputs
 * twice (the policy world and the twin) see one text, stdin included.
 */
import type { Io } from './io.js';

export function readOnce(io: Io): Io {
  const texts = new Map<string, string>();
  return {
    ...io,
    out: (t) => io.out(t),
    err: (t) => io.err(t),
    listDir: (path) => io.listDir(path),
    readFile: (path) => {
      let t = texts.get(path);
      if (t === undefined) texts.set(path, (t = io.readFile(path)));
      return t;
    },
  };
}
