import { describe, expect, it } from 'vitest';
import {
  bitsContain,
  cidrContains,
  intToIp,
  ipToInt,
  ipv4Value,
  isIpv4,
  parseCidr,
  parseCidrBits,
} from './addr.js';

describe('ipv4Value: the one IPv4 address parser', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.244.1.2', 0x0af40102],
    ['255.255.255.255', 0xffffffff],
    ['192.168.0.10', 0xc0a8000a],
    ['1.2.3.100', 0x01020364],
  ])('%s is %d', (s, n) => {
    expect(ipv4Value(s)).toBe(n);
    expect(isIpv4(s)).toBe(true);
    expect(ipToInt(s)).toBe(n);
    expect(intToIp(n)).toBe(s);
  });

  it.each([
    '',
    '10.244.0',
    '10.244.0.1.5',
    '10.244..1',
    '.10.244.0.1',
    '10.244.0.1.',
    '256.0.0.1',
    '10.0.0.1000',
    '010.0.0.1', // a leading zero: octal to inet_aton, refused by Go's net.ParseIP and inet_pton
    '10.00.0.1',
    '10.0.0.1/32',
    '10.0.0.-1',
    ' 10.0.0.1',
    '::1',
    '0x0a.0.0.1',
  ])('%j is not an IPv4 address', (s) => {
    expect(ipv4Value(s)).toBe(-1);
    expect(isIpv4(s)).toBe(false);
    expect(() => ipToInt(s)).toThrow(`not an IPv4 address: ${JSON.stringify(s)}`);
  });
});

describe('parseCidrBits: the one IPv4 prefix parser', () => {
  it.each([
    ['10.244.1.0/24', 24, 0x0af40100, 0xffffff00, '10.244.1.0'],
    ['10.244.1.7/24', 24, 0x0af40100, 0xffffff00, '10.244.1.0'], // host bits cleared
    ['0.0.0.0/0', 0, 0, 0, '0.0.0.0'],
    ['192.168.0.10', 32, 0xc0a8000a, 0xffffffff, '192.168.0.10'], // a bare address: /32
    ['172.16.0.0/12', 12, 0xac100000, 0xfff00000, '172.16.0.0'],
  ])('%s is /%d, network %d, mask %d', (s, prefix, net, mask, network) => {
    expect(parseCidrBits(s)).toEqual({ prefix, net, mask });
    expect(parseCidr(s)).toEqual({ network, prefix });
  });

  it.each([
    ['10.0.0.0/33', 'not an IPv4 prefix'],
    ['10.0.0.0/', 'not an IPv4 prefix'],
    ['10.0.0.0/a', 'not an IPv4 prefix'],
    ['10.0.0.0/024', 'not an IPv4 prefix'],
    ['10.0.0/8', 'not an IPv4 address'],
    ['fd00::/16', 'not an IPv4 address'],
  ])('%s throws (%s), as parseCidr does', (s, why) => {
    expect(() => parseCidrBits(s)).toThrow(why);
    expect(() => parseCidr(s)).toThrow(why);
  });

  it.each([
    ['10.244.1.0/24', '10.244.1.255', true],
    ['10.244.1.0/24', '10.244.2.0', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['192.168.0.10/32', '192.168.0.10', true],
    ['192.168.0.10/32', '192.168.0.11', false],
  ])('%s holds %s: %s, as cidrContains says', (c, ip, holds) => {
    expect(bitsContain(parseCidrBits(c), ip)).toBe(holds);
    expect(cidrContains(parseCidr(c), ip)).toBe(holds);
  });

  it('bitsContain throws on an address that is not a dotted quad', () => {
    expect(() => bitsContain(parseCidrBits('10.0.0.0/8'), 'fd00::1')).toThrow(
      'not an IPv4 address',
    );
  });
});
