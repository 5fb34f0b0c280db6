/**
 * The CLI's only doors to the world: files in, text out. Commands receive an
 * `Io` so tests can run them in-process and read what they print.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../diag.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): string;
  /** Whether stdout is a terminal (progress and colour only then). */
  readonly isTty: boolean;
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    readFile: (path) => {
      try {
        return readFileSync(path === '-' ? 0 : path, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
        throw InputError.of(
          'file-unreadable',
          code === 'ENOENT' ? 'no such file' : `cannot read (${code})`,
          { file: path },
          'check the path given to -f/--rules',
        );
      }
    },
    isTty: process.stdout.isTTY === true,
  };
}

/** Collects output in memory; for tests. */
export function memoryIo(
  files: Record<string, string> = {},
): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTty: false,
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    readFile(path: string): string {
      const text = files[path];
      if (text === undefined)
        throw InputError.of('file-unreadable', 'no such file', { file: path });
      return text;
    },
  };
  return io;
}
