/** The port of kube-proxy's test sort, checked with cases from upstream's TestSortIPTablesRules. */
import { describe, expect, it } from 'vitest';
import { sortIptablesText } from './dump.js';

const dedent = (s: string) =>
  s
    .replace(/^\n/, '')
    .split('\n')
    .map((l) => l.replace(/^\t+/, ''))
    .join('\n');

describe('sortIptablesText (upstream sortIPTablesRules)', () => {
  it('correctly matches the same service name in different styles of comments', () => {
    const input = dedent(`
\t*filter
\tCOMMIT
\t*nat
\t:KUBE-SERVICES - [0:0]
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1
\t-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3
\t-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" svc1 line 1
\t-A KUBE-SERVICES -m comment --comment ns1/svc1 svc1 line 2
\t-A KUBE-SERVICES -m comment --comment "ns1/svc1 blah" svc1 line 3
\t-A KUBE-SERVICES -m comment --comment ns4/svc4 svc4 line 1
\t-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" svc4 line 2
\t-A KUBE-SERVICES -m comment --comment "ns4/svc4 blah" svc4 line 3
\t-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" svc3 line 1
\t-A KUBE-SERVICES -m comment --comment "ns3/svc3 blah" svc3 line 2
\t-A KUBE-SERVICES -m comment --comment ns3/svc3 svc3 line 3
\tCOMMIT
\t`);
    const output = dedent(`
\t*filter
\tCOMMIT
\t*nat
\t:KUBE-SERVICES - [0:0]
\t-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" svc1 line 1
\t-A KUBE-SERVICES -m comment --comment ns1/svc1 svc1 line 2
\t-A KUBE-SERVICES -m comment --comment "ns1/svc1 blah" svc1 line 3
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1
\t-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3
\t-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" svc3 line 1
\t-A KUBE-SERVICES -m comment --comment "ns3/svc3 blah" svc3 line 2
\t-A KUBE-SERVICES -m comment --comment ns3/svc3 svc3 line 3
\t-A KUBE-SERVICES -m comment --comment ns4/svc4 svc4 line 1
\t-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" svc4 line 2
\t-A KUBE-SERVICES -m comment --comment "ns4/svc4 blah" svc4 line 3
\tCOMMIT
\t`);
    expect(sortIptablesText(input)).toBe(output);
  });

  it('preserves unexpected junk lines and orders chains KUBE-SERVICES, KUBE-*, rest', () => {
    const input = dedent(`
\t*filter
\tCOMMIT
\t*nat
\t:KUBE-SERVICES - [0:0]
\t:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
\t:KUBE-AAAAA - [0:0]
\t:KUBE-ZZZZZ - [0:0]
\t:WHY-IS-THIS-CHAIN-HERE - [0:0]
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1
\t-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
\t-A KUBE-ZZZZZ -m comment --comment "mystery chain number 1"
\t-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2
\t-A WHY-IS-THIS-CHAIN-HERE -j ACCEPT
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3
\t-A KUBE-AAAAA -m comment --comment "mystery chain number 2"
\tCOMMIT
\t`);
    const output = dedent(`
\t*filter
\tCOMMIT
\t*nat
\t:KUBE-SERVICES - [0:0]
\t:KUBE-AAAAA - [0:0]
\t:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
\t:KUBE-ZZZZZ - [0:0]
\t:WHY-IS-THIS-CHAIN-HERE - [0:0]
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1
\t-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2
\t-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3
\t-A KUBE-AAAAA -m comment --comment "mystery chain number 2"
\t-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
\t-A KUBE-ZZZZZ -m comment --comment "mystery chain number 1"
\t-A WHY-IS-THIS-CHAIN-HERE -j ACCEPT
\tCOMMIT
\t`);
    expect(sortIptablesText(input)).toBe(output);
  });

  it('sorts tables by name and keeps the nat "must be the last rule" rule last', () => {
    const input = [
      '*nat',
      ':KUBE-SERVICES - [0:0]',
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
      '-A KUBE-SERVICES -m comment --comment "zz/last:p cluster IP" -j KUBE-SVC-Z',
      '-A KUBE-SERVICES -m comment --comment "aa/first:p cluster IP" -j KUBE-SVC-A',
      'COMMIT',
      '*filter',
      'COMMIT',
      '',
    ].join('\n');
    const out = sortIptablesText(input).split('\n');
    expect(out[0]).toBe('*filter');
    expect(out.filter((l) => l.startsWith('-A')).map((l) => l.replace(/.*-j /, ''))).toEqual([
      'KUBE-SVC-A',
      'KUBE-SVC-Z',
      'KUBE-NODEPORTS',
    ]);
  });
});
