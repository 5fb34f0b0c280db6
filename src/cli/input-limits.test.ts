/**
 * Inputs that once hung, ran out of memory or crashed the YAML reader:
 * each is now read to a stated limit and refused with a message that names
 * the limit (exit 2), or read as what it is.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '../diag.js';
import { MAX_NESTING, parseFile } from '../k8s/parse.js';
import { memoryIo, READ_CHUNK, readBounded } from './io.js';
import { main } from './main.js';

const EXAMPLE = 'examples/calico-ipip.yaml';
const example = readFileSync(new URL(`../../${EXAMPLE}`, import.meta.url), 'utf8');
const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: default\ndata:\n';

describe('streams that never end are cut at a stated size', () => {
  it.each(['/dev/zero', '/dev/urandom'])(
    '%s is refused after the limit, not read forever',
    (dev) => {
      let err: unknown;
      try {
        readBounded(dev, 1 << 20);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).diagnostics[0]).toMatchObject({
        code: 'input-too-large',
        file: dev,
        message:
          'more than 1 MiB: reading stopped there (packeteye reads at most 1 MiB from one input)',
      });
    },
  );

  it('a procfs file, whose size says 0, is read whole or refused at the limit', () => {
    expect(readBounded('/proc/version')).toBe(readFileSync('/proc/version', 'utf8'));
    let err: unknown;
    try {
      readBounded('/proc/self/maps', 64);
    } catch (e) {
      err = e;
    }
    expect((err as InputError).diagnostics[0]).toMatchObject({
      code: 'input-too-large',
      file: '/proc/self/maps',
    });
  });

  it('a file under the limit is read whole', () => {
    expect(readBounded(new URL(`../../${EXAMPLE}`, import.meta.url).pathname)).toBe(example);
  });

  describe('a regular file is read whole or refused at the limit, whatever its size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pe-read-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const MiB = 1 << 20;
    // A two-byte character across each 1 MiB boundary: the text is decoded whole, not per chunk.
    const text = (n: number) => 'x'.repeat(MiB - 1) + 'é'.repeat(n);
    it.each<[string, string, number, string | undefined]>([
      ['empty', '', 64, undefined],
      ['one byte', 'a', 64, undefined],
      ['at the limit', 'b'.repeat(64), 64, undefined],
      ['one byte over the limit', 'c'.repeat(65), 64, 'more than'],
      ['over 1 MiB, a character across the boundary', text(3), 4 * MiB, undefined],
      ['over 3 MiB', text(MiB + 7), 8 * MiB, undefined],
      ['over the limit by one character', text(2), MiB, 'more than'],
    ])('%s', (name, content, limit, refused) => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(path, content);
      let got: string | undefined;
      let err: unknown;
      try {
        got = readBounded(path, limit);
      } catch (e) {
        err = e;
      }
      if (refused === undefined) expect(got).toBe(content);
      else expect((err as InputError).diagnostics[0]?.message.startsWith(refused)).toBe(true);
    });

    it('bytes that are not UTF-8, and a byte order mark, are decoded as a buffer decodes them', () => {
      const bytes = Buffer.from([
        0xef, 0xbb, 0xbf, 0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0x61, 0xf0, 0x9f, 0x98, 0xed, 0xa0,
        0x80, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82,
      ]);
      const path = join(dir, 'not-utf8.yaml');
      writeFileSync(path, bytes);
      expect(readBounded(path, 64)).toBe(bytes.toString('utf8'));
    });

    it('the same bytes with a read boundary at each of their offsets', () => {
      const bytes = Buffer.from([
        0xef, 0xbb, 0xbf, 0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0x61, 0xf0, 0x9f, 0x98, 0xed, 0xa0,
        0x80, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82,
      ]);
      const pieces: Buffer[] = [];
      let at = 0;
      for (let cut = 1; cut <= bytes.length; cut++) {
        // Pad so that the next chunk starts `cut` bytes into this copy of the bytes.
        const pad = (((READ_CHUNK - cut - at) % READ_CHUNK) + READ_CHUNK) % READ_CHUNK;
        pieces.push(Buffer.alloc(pad, 0x62), bytes);
        at += pad + bytes.length;
      }
      const all = Buffer.concat(pieces);
      const path = join(dir, 'not-utf8-across-chunks.yaml');
      writeFileSync(path, all);
      expect(readBounded(path, all.length)).toBe(all.toString('utf8'));
    });
  });
});

describe('YAML and JSON size and depth', () => {
  it('a 6 MB scalar is read (no stack overflow)', () => {
    const r = parseFile('big.yaml', `${CM}  a: ${'x'.repeat(6_000_000)}\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.documents).toHaveLength(1);
  });

  it.each([
    ['flow YAML', `${CM}  a: ${'['.repeat(3000)}${']'.repeat(3000)}\n`, 7],
    [
      'block YAML',
      `${CM}${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n')} v\n`,
      3006,
    ],
    ['JSON', `${'['.repeat(3000)}${']'.repeat(3000)}`, 1],
  ])(
    '3,000 levels of %s: a depth error naming the limit, no indentation advice',
    (_n, text, line) => {
      const r = parseFile('deep', text);
      expect(r.diagnostics).toHaveLength(1);
      expect(r.diagnostics[0]).toMatchObject({
        code: 'k8s-too-deep',
        severity: 'error',
        line,
        message: `nested more than ${MAX_NESTING} levels deep (line ${line}): packeteye reads YAML and JSON nested at most ${MAX_NESTING} levels`,
      });
      expect(r.diagnostics[0]!.hint).not.toMatch(/indentation/);
    },
  );

  it('a real manifest is far from the limit', () => {
    expect(
      parseFile(EXAMPLE, example).diagnostics.filter((d) => d.code === 'k8s-too-deep'),
    ).toEqual([]);
  });
});

describe('the CLI says what it was given', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a complex YAML key is a warning on stderr, not a Node.js process warning', async () => {
    const emit = vi.spyOn(process, 'emitWarning');
    const io = memoryIo({ 'c.yaml': `${example}\n---\n${CM}  ? [a, b]\n  : c\n` });
    await main(['trace', '-f', 'c.yaml', '--from', 'default/pod1', '--to', 'default/pod2'], io);
    expect(emit).not.toHaveBeenCalled();
    expect(io.stderr).toContain('warning: YAML: a sequence used as a key is read as its text');
  });

  it.each([
    ['trace', ['--from', 'a', '--to', 'b']],
    ['reach', []],
  ])('empty stdin is called empty (%s)', async (cmd, rest) => {
    const io = memoryIo({}, { stdin: '' });
    const code = await main([cmd, '-f', '-', ...rest], io);
    expect(code).toBe(2);
    expect(io.stderr).toContain(
      '-: error: stdin is empty: no YAML or JSON came in [k8s-empty-input]',
    );
  });

  it('the same file given twice is read once, with a warning, not 20 duplicates', async () => {
    const io = memoryIo({ [EXAMPLE]: example });
    const code = await main(
      ['trace', '-f', EXAMPLE, '-f', EXAMPLE, '--from', 'default/pod1', '--to', 'default/pod2'],
      io,
    );
    expect(io.stderr).toContain(
      `${EXAMPLE}: warning: given twice; read once [k8s-file-given-twice]`,
    );
    expect(io.stderr).not.toContain('defined twice');
    expect(code).toBe(0);
  });
});
