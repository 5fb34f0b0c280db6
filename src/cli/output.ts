/**
 * Output helpers shared by the subcommands: `-o yaml` (the `-o json`
 * document, serialised as YAML) and a one-line progress indicator on stderr
 * for long work, shown only when stderr is a terminal.
 */
import { yaml } from '../k8s/yaml-lib.js';
import type { Io } from './io.js';

/**
 * The same document `JSON.stringify` writes, as YAML: going through JSON
 * first applies every `toJSON` and drops `undefined` exactly as the JSON
 * contract does, so `-o yaml` and `-o json` never disagree.
 */
export function jsonToYaml(json: string): string {
  return yaml().stringify(JSON.parse(json) as unknown, {
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
}

export function toYaml(value: unknown): string {
  return jsonToYaml(JSON.stringify(value));
}

export interface Progress {
  /** Replaces the progress line (no-op when stderr is not a terminal). */
  update(text: string): void;
  /** Clears the line, so the command's own output starts clean. */
  done(): void;
}

/** A progress line on stderr, rewritten in place with \r; nothing at all unless stderr is a TTY. */
export function progress(io: Io): Progress {
  if (!io.errIsTty) return { update: () => undefined, done: () => undefined };
  let shown = false;
  return {
    update(text) {
      io.err(`\r\x1b[K${text}`);
      shown = true;
    },
    done() {
      if (shown) io.err('\r\x1b[K');
      shown = false;
    },
  };
}

export { count } from '../render/count.js';
