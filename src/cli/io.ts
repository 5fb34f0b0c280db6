/**
 * The CLI's only doors to the world: files in, text out. Commands receive an
 * `Io` so tests can run them in-process and read what they print.
 */
import { closeSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { InputError } from '../diag.js';
import type { L7Trace } from '../trace/model.js';
import type { TwinSession } from '../twin/session.js';

export interface Io {
  out(text: string): void;
  /** Bytes to stdout as they are (`trace -o pcap`). */
  outBytes(bytes: Uint8Array): void;
  err(text: string): void;
  readFile(path: string): string;
  /**
   * The manifest files in `path` when it is a directory (`*.yaml`, `*.yml`,
   * `*.json`, not recursive, sorted by name — what `kubectl apply -f DIR`
   * reads), or undefined when it is not a directory.
   */
  listDir(path: string): string[] | undefined;
  /** Whether stdout is a terminal (progress and colour only then). */
  readonly isTty: boolean;
  /** Whether stderr is a terminal: progress lines go there, and only then. */
  readonly errIsTty: boolean;
  /**
   * A cluster already read and kept (`packeteye serve`): a command given
   * exactly these `-f` files answers from it instead of reading them again.
   */
  readonly session?: { readonly files: readonly string[]; readonly session: TwinSession };
  /**
   * JSON documents written without indentation (`packeteye serve`: the
   * client parses them; a trace at scale is a few hundred kB either way).
   */
  readonly compactJson?: boolean;
  /**
   * Handed the trace a `trace` command answers with (its defaults chosen),
   * before its document is written: `packeteye serve` renders the page's view
   * from the object rather than from the document read back. `false` means
   * the view alone was asked for: the command writes no document.
   */
  readonly onTrace?: (t: L7Trace) => boolean;
}

/** The extensions `kubectl -f DIR` reads (k8s.io/cli-runtime resource.FileExtensions). */
export const MANIFEST_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

function isManifest(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

function unreadable(path: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return InputError.of(
    'file-unreadable',
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : `cannot read (${code})`,
    { file: path },
    'check the path (a file, a directory of *.yaml/*.yml/*.json, or - for stdin)',
  );
}

/**
 * The most one input may hold: 256 MiB. A `kubectl get -A -o yaml` dump of a
 * 5,000-node cluster is a few hundred MB less than that; a stream that never
 * ends (`-f /dev/zero`, `/dev/urandom`) is cut here and refused instead of
 * read until memory runs out.
 */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

function tooLarge(path: string, limit: number): InputError {
  return InputError.of(
    'input-too-large',
    `more than ${limit / (1024 * 1024)} MiB: reading stopped there (packeteye reads at most ${limit / (1024 * 1024)} MiB from one input)`,
    { file: path },
    'give a file, not a device or a stream that never ends; split a larger dump by namespace',
  );
}

/**
 * The bytes read at a time: each is decoded to a string small enough for the
 * young generation, and the text is joined from them once. No buffer the size
 * of the input is ever made (a 93 MB one, garbage once decoded, stayed in
 * memory until a full collection: 85 MB more peak memory at 150k pods).
 */
export const READ_CHUNK = 64 * 1024;

/**
 * Reads a file or stdin (`-`) to its end, or to MAX_INPUT_BYTES and refuses
 * it. What a file's size says is not trusted: one that grows while it is read
 * or says 0 (procfs) is read to the limit like a stream. Decoded as a buffer
 * decodes UTF-8 (a byte order mark kept, a bad byte U+FFFD), across chunks.
 */
export function readBounded(path: string, limit = MAX_INPUT_BYTES): string {
  const fd = path === '-' ? 0 : openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafeSlow(READ_CHUNK);
    const decoder = new StringDecoder('utf8');
    const parts: string[] = [];
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, Math.min(buf.length, limit + 1 - total), null);
      } catch (e) {
        // A non-blocking stdin with nothing yet: wait a little and read again.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw e;
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw tooLarge(path, limit);
      parts.push(decoder.write(buf.subarray(0, n)));
    }
    parts.push(decoder.end());
    return parts.join('');
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/**
 * A reader that closed the pipe (`packeteye reach … | head -1`) ends the
 * command quietly with status 0, as cat and grep do under SIGPIPE: there is
 * no one left to tell. Installed once per process.
 */
let pipeGuard = false;
function endQuietlyOnClosedPipe(): void {
  if (pipeGuard) return;
  pipeGuard = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

/**
 * Writes to stdout before returning: a writer that makes its output a piece
 * at a time (`reach -o json` row by row) holds one piece in memory, not the
 * whole output queued behind a slow pipe. A full non-blocking pipe is waited
 * on; a closed one ends the command quietly (status 0), as above.
 */
function writeStdout(data: string | Uint8Array): void {
  let buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  while (buf.length > 0) {
    let n: number;
    try {
      n = writeSync(1, buf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        continue;
      }
      if (code === 'EPIPE') process.exit(0);
      throw e;
    }
    buf = buf.subarray(n);
  }
}

export function processIo(): Io {
  endQuietlyOnClosedPipe();
  return {
    out: (t) => writeStdout(t),
    outBytes: (b) => writeStdout(b),
    err: (t) => void process.stderr.write(t),
    readFile: (path) => {
      try {
        return readBounded(path);
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw unreadable(path, e);
      }
    },
    listDir: (path) => {
      if (path === '-') return undefined;
      try {
        if (!statSync(path).isDirectory()) return undefined;
        return readdirSync(path, { withFileTypes: true })
          .filter((d) => !d.isDirectory() && isManifest(d.name))
          .map((d) => d.name)
          .sort()
          .map((name) => join(path, name));
      } catch (e) {
        throw unreadable(path, e);
      }
    },
    isTty: process.stdout.isTTY === true,
    errIsTty: process.stderr.isTTY === true,
  };
}

/**
 * Collects output in memory; for tests. A path is a directory when some file
 * key lies under it (`dir/a.yaml` makes `dir` one); `-` is `opts.stdin`.
 */
export function memoryIo(
  files: Record<string, string> = {},
  opts: { errIsTty?: boolean; stdin?: string } = {},
): Io & { stdout: string; stderr: string; stdoutBytes: Uint8Array } {
  const io = {
    stdout: '',
    stdoutBytes: new Uint8Array(0),
    stderr: '',
    isTty: false,
    errIsTty: opts.errIsTty === true,
    out(t: string) {
      io.stdout += t;
    },
    outBytes(b: Uint8Array) {
      const all = new Uint8Array(io.stdoutBytes.length + b.length);
      all.set(io.stdoutBytes);
      all.set(b, io.stdoutBytes.length);
      io.stdoutBytes = all;
    },
    err(t: string) {
      io.stderr += t;
    },
    readFile(path: string): string {
      const text = path === '-' ? opts.stdin : files[path];
      if (text === undefined)
        throw InputError.of('file-unreadable', 'no such file or directory', { file: path });
      return text;
    },
    listDir(path: string): string[] | undefined {
      if (path === '-' || files[path] !== undefined) return undefined;
      const dir = path.endsWith('/') ? path : `${path}/`;
      const under = Object.keys(files).filter((k) => k.startsWith(dir));
      if (under.length === 0) return undefined;
      return under.filter((k) => !k.slice(dir.length).includes('/') && isManifest(k)).sort();
    },
  };
  return io;
}
