/**
 * `ipset restore` inputs the real tool refuses or accepts, shared by
 * ipset.validate.test.ts (packeteye's reading) and
 * ipset.validate.kernel.test.ts (ipset 7 in a namespace). Test-only.
 */
export interface IpsetCase {
  readonly name: string;
  readonly text: string;
  /** The line packeteye blames, or null when the text is accepted. */
  readonly line: number | null;
}

export const IPSET_CASES: readonly IpsetCase[] = [
  { name: 'bitmap:ip without range', text: 'create b bitmap:ip\n', line: 1 },
  { name: 'bitmap:port without range', text: 'create b bitmap:port\n', line: 1 },
  {
    name: 'bitmap:ip member out of range',
    text: 'create b bitmap:ip range 10.0.0.0/24\nadd b 10.0.1.1\n',
    line: 2,
  },
  {
    name: 'bitmap:port member out of range',
    text: 'create b bitmap:port range 100-200\nadd b 300\n',
    line: 2,
  },
  { name: 'bitmap:port range past 65535', text: 'create b bitmap:port range 0-70000\n', line: 1 },
  {
    name: 'port range past 65535',
    text: 'create h hash:ip,port\nadd h 10.0.0.1,tcp:80-70000\n',
    line: 2,
  },
  { name: 'unknown create option', text: 'create h hash:ip family inet frobnicate 1\n', line: 1 },
  { name: 'unknown add option', text: 'create h hash:ip\nadd h 10.0.0.1 frob\n', line: 2 },
  { name: 'range on a hash set', text: 'create h hash:ip range 10.0.0.0/8\n', line: 1 },
  { name: 'netmask on hash:net', text: 'create h hash:net netmask 24\n', line: 1 },
  { name: 'size on a hash set', text: 'create h hash:ip size 8\n', line: 1 },
  {
    name: 'timeout on an add to a set without timeouts',
    text: 'create h hash:ip\nadd h 10.0.0.1 timeout 5\n',
    line: 2,
  },
  {
    name: 'comment on an add to a set without comments',
    text: 'create h hash:ip\nadd h 10.0.0.1 comment x\n',
    line: 2,
  },
  { name: 'maxelem not a number', text: 'create h hash:ip maxelem x\n', line: 1 },
  {
    name: 'counters (accepted)',
    text: 'create h hash:ip counters\nadd h 10.0.0.1 packets 1 bytes 2\n',
    line: null,
  },
  {
    name: 'bitmap:ip in range (accepted)',
    text: 'create b bitmap:ip range 10.0.0.0-10.0.0.255\nadd b 10.0.0.9\n',
    line: null,
  },
  {
    name: 'bitmap:port in range (accepted)',
    text: 'create b bitmap:port range 0-1023\nadd b 22\nadd b 80-81\n',
    line: null,
  },
  {
    name: 'what ipset save prints (accepted)',
    text: 'create k hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1c0f5b5e\nadd k 10.0.0.1,tcp:80 timeout 0\n',
    line: null,
  },
];
