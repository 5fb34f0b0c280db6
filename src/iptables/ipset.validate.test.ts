import { describe, expect, it } from 'vitest';
import { parseIpsetSave } from './ipset.js';
import { IPSET_CASES } from './testing/ipset-cases.js';

describe('ipset save files are read as ipset restore reads them', () => {
  it.each(IPSET_CASES)('$name', (c) => {
    const errors = parseIpsetSave(c.text, 's.txt').diagnostics.filter(
      (d) => d.severity === 'error',
    );
    expect(errors.map((e) => e.line)).toEqual(c.line === null ? [] : [c.line]);
  });

  it('names what is missing and what it expected', () => {
    const [e] = parseIpsetSave('create b bitmap:ip\n', 's.txt').diagnostics;
    expect(e!.message).toBe(
      'set b: a bitmap:ip set needs a range (ipset: "Mandatory option `range\' is missing")',
    );
    const [u] = parseIpsetSave('create h hash:ip frob 1\n', 's.txt').diagnostics;
    expect(u!.message).toBe(
      'set h: unknown argument "frob" for hash:ip (ipset restore refuses it)',
    );
  });
});
