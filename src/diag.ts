/**
 * Diagnostics: what packeteye says about its input.
 *
 * A diagnostic has a stable code, a severity and a location that names the
 * file, the line or document, the object and the field, so a user can go
 * straight to what to fix. Compilers return diagnostics and keep going; the
 * CLI turns errors into exit status 2.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface Location {
  readonly file?: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
  /** 1-based column on that line, when known (parse errors). */
  readonly column?: number;
  /** 1-based document index in a multi-document file. */
  readonly document?: number;
  /** `Kind ns/name` of the object the diagnostic is about. */
  readonly object?: string;
  /** Dotted path of the field, e.g. `spec.ports[0].targetPort`. */
  readonly field?: string;
}

export interface Diagnostic extends Location {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  /** What the user can do about it. */
  readonly hint?: string;
}

export function formatLocation(loc: Location): string {
  const parts: string[] = [];
  if (loc.file !== undefined) {
    const col = loc.line !== undefined && loc.column !== undefined ? `:${loc.column}` : '';
    parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}${col}` : loc.file);
  }
  if (loc.document !== undefined) parts.push(`document ${loc.document}`);
  if (loc.object !== undefined) parts.push(loc.object);
  if (loc.field !== undefined) parts.push(`field ${loc.field}`);
  return parts.join(': ');
}

/** `FILE:LINE: document N: Kind ns/name: field F: error: message [code]`, compiler style. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d);
  const head = `${where ? `${where}: ` : ''}${d.severity}: ${d.message} [${d.code}]`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/**
 * Thrown when input cannot be used at all. Carries every diagnostic found so
 * far, so the user sees all problems at once, not one per run.
 */
export class InputError extends Error {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'InputError';
    this.diagnostics = diagnostics;
  }

  static of(code: string, message: string, loc: Location = {}, hint?: string): InputError {
    return new InputError([
      { code, severity: 'error', message, ...loc, ...(hint ? { hint } : {}) },
    ]);
  }
}

/**
 * Thrown when packeteye finds itself inconsistent (a bug, not the input's
 * fault): one `internal-error` diagnostic, reported as such (no stack trace).
 */
export class InternalError extends Error {
  readonly diagnostic: Diagnostic;

  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
    this.diagnostic = { code: 'internal-error', severity: 'error', message };
  }
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
