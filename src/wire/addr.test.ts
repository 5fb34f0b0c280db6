import { describe, expect, it } from 'vitest';
import { intToIp, ipToInt, ipv4Value, isIpv4 } from './addr.js';

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
