import { describe, expect, it } from 'vitest';
import { dnatted } from './scale-kernel.js';

describe('dnatted', () => {
  it.each([
    [
      'a DNATed SYN',
      'tcp      6 119 SYN_SENT src=192.168.0.10 dst=10.96.0.10 sport=40000 dport=80 [UNREPLIED] src=10.244.0.2 dst=192.168.0.10 sport=8080 dport=40000 mark=0 use=1\n',
      1,
    ],
    [
      'a SYN left alone',
      'tcp      6 119 SYN_SENT src=192.168.0.10 dst=10.96.0.10 sport=40000 dport=80 [UNREPLIED] src=10.96.0.10 dst=192.168.0.10 sport=80 dport=40000 mark=0 use=1\n',
      0,
    ],
    ['nothing', '', 0],
  ])('counts %s as %d', (_what, listing, n) => {
    expect(dnatted(listing)).toBe(n);
  });
});
