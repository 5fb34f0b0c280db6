/**
 * packeteye inconsistent with itself (an `InternalError`, e.g. a counted
 * kube-proxy chain written with another number of lines): the CLI says so
 * with the diagnostic, exit 1, and no stack trace.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { InternalError } from '../diag.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

vi.mock('../twin/index.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../twin/index.js')>()),
  planTwin: () => {
    throw new InternalError('kube-proxy chain KUBE-SVC-X: 2 rules written, 3 counted');
  },
}));

describe('an internal error', () => {
  it('is reported as a diagnostic, without a stack', async () => {
    const file = 'examples/two-nodes.yaml';
    const io = memoryIo({ [file]: readFileSync(file, 'utf8') });
    const code = await main(
      ['trace', '-f', file, '--from', 'default/client', '--to', 'svc/default/web:80'],
      io,
    );
    expect(code).toBe(1);
    expect(io.stderr).toBe(
      'packeteye: internal error: kube-proxy chain KUBE-SVC-X: 2 rules written, 3 counted [internal-error]\n' +
        'This is a bug in packeteye; please report it with the command line and input.\n',
    );
  });
});
