import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIpv6,
  cidrContains,
  formatHostPort,
  formatIpv6,
  ipCidrContains,
  ipCidrsOverlap,
  ipFamilyOf,
  ipToInt,
  ipv6ToBigInt,
  parseCidr,
  parseIp,
  parseIpCidr,
} from './addr.js';

describe('IPv6 text: RFC 5952 canonical form, as inet_ntop (ip6tables-save, ip -6) prints it', () => {
  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // first of equal runs
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'], // the longer run wins
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not shortened
    ['0:0:0:0:0:0:0:0', '::'],
    ['0::1', '::1'],
    ['fd00:10:180:0::2:1', 'fd00:10:180::2:1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'], // IPv4-mapped
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['::10.0.0.1', '::10.0.0.1'], // IPv4-compatible
    ['2001:db8::ffff:1.2.3.4', '2001:db8::ffff:102:304'],
    ['fe80::', 'fe80::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ])('%s → %s', (input, want) => {
    expect(canonicalIpv6(input)).toBe(want);
    expect(ipFamilyOf(input)).toBe('ipv6');
  });

  it.each([
    ['1:2:3:4:5:6:7:8:9'],
    ['1::2::3'],
    ['12345::'],
    ['::g'],
    ['fe80::1%eth0'],
    [':1'],
    ['1:'],
    ['1:2:3:4:5:6:7'],
    ['::1.2.3'],
    ['::256.1.1.1'],
    [''],
  ])('%j is not an IPv6 address', (s) => {
    expect(ipv6ToBigInt(s)).toBeNull();
    expect(() => canonicalIpv6(s)).toThrow(RangeError);
  });

  it('format(parse(x)) is canonical and parse(format(v)) == v for any 128-bit value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        const text = formatIpv6(v);
        expect(ipv6ToBigInt(text)).toBe(v);
        expect(canonicalIpv6(text)).toBe(text);
        expect(text).toBe(text.toLowerCase());
      }),
    );
  });
});

describe('family-tagged addresses and prefixes', () => {
  it.each([
    ['10.1.2.3/8', 'ipv4', '10.0.0.0', 8],
    ['10.1.2.3', 'ipv4', '10.1.2.3', 32],
    ['2001:db8::1/64', 'ipv6', '2001:db8::', 64],
    ['2001:db8::1', 'ipv6', '2001:db8::1', 128],
    ['::/0', 'ipv6', '::', 0],
    ['fd00:10:180::2:1/112', 'ipv6', 'fd00:10:180::2:0', 112],
  ])('parseIpCidr(%s)', (s, family, network, prefix) => {
    expect(parseIpCidr(s)).toMatchObject({ family, network, prefix });
  });

  it.each([['2001:db8::/129'], ['10.0.0.0/33'], ['x/8'], ['2001:db8::/-1']])(
    'parseIpCidr(%s) throws',
    (s) => expect(() => parseIpCidr(s)).toThrow(RangeError),
  );

  it.each([
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::1/128', '2001:DB8::1', true],
    ['::/0', '::1', true],
    ['::/0', '10.0.0.1', false], // never across families
    ['10.0.0.0/8', '10.9.9.9', true],
    ['10.0.0.0/8', '::ffff:10.9.9.9', false],
  ])('%s contains %s: %s', (c, ip, want) => {
    expect(ipCidrContains(parseIpCidr(c), ip)).toBe(want);
  });

  it.each([
    ['2001:db8::/32', '2001:db8:1::/48', true],
    ['2001:db8:1::/48', '2001:db8:2::/48', false],
    ['::/0', '0.0.0.0/0', false],
    ['10.0.0.0/8', '10.1.0.0/16', true],
  ])('%s overlaps %s: %s', (a, b, want) => {
    expect(ipCidrsOverlap(parseIpCidr(a), parseIpCidr(b))).toBe(want);
    expect(ipCidrsOverlap(parseIpCidr(b), parseIpCidr(a))).toBe(want);
  });

  it('IPv4 through the family-tagged API agrees with the u32 API', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 32 }),
        (n, p) => {
          const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
          const c = parseIpCidr(`${ip}/${p}`);
          expect(c.network).toBe(parseCidr(`${ip}/${p}`).network);
          expect(ipCidrContains(c, ip)).toBe(cidrContains(parseCidr(`${ip}/${p}`), ip));
          expect(parseIp(ip).value).toBe(BigInt(ipToInt(ip)));
        },
      ),
    );
  });

  it.each([
    ['10.0.0.1', 80, '10.0.0.1:80'],
    ['fd00:10:180::1', 80, '[fd00:10:180::1]:80'],
  ])('formatHostPort(%s, %d)', (ip, port, want) => expect(formatHostPort(ip, port)).toBe(want));
});
