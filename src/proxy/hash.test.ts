import { describe, expect, it } from 'vitest';
import {
  base32Std,
  endpointChainName,
  serviceExternalChainName,
  serviceFirewallChainName,
  serviceLocalChainName,
  servicePortChainName,
  servicePortNameString,
} from './hash.js';

describe('kube-proxy chain name hashes', () => {
  // §3.2 vectors (names seen on real clusters) and upstream proxier_test.go expectations.
  const svc: [string, string, string][] = [
    ['default/kubernetes:https', 'tcp', 'KUBE-SVC-NPX46M4PTMTKRN6Y'],
    ['kube-system/kube-dns:dns', 'udp', 'KUBE-SVC-TCOU7JCQXEZGVUNU'],
    ['kube-system/kube-dns:dns-tcp', 'tcp', 'KUBE-SVC-ERIFXISQEP7F7OF4'],
    ['kube-system/kube-dns:metrics', 'tcp', 'KUBE-SVC-JD5MR3NA4I4DYORP'],
    ['ns1/svc1:p80', 'tcp', 'KUBE-SVC-XPGD46QRK7WJZT7O'],
    ['ns1/svc1:p80', 'sctp', 'KUBE-SVC-GFCIFIA5VTFSTMSM'],
    ['ns2/svc2:p80', 'tcp', 'KUBE-SVC-GNZBNJ2PO5MGZ6GT'],
    ['openshift-dns/dns-default:dns', 'udp', 'KUBE-SVC-BGNS3J6UB7MMLVDO'],
    ['openshift-dns/dns-default:dns-tcp', 'tcp', 'KUBE-SVC-6BRQXW4I6ZZ3LHZH'],
  ];
  it.each(svc)('%s/%s -> %s', (name, proto, want) => {
    expect(servicePortChainName(name, proto)).toBe(want);
  });

  it('SVL/EXT/FW share the SVC hash', () => {
    expect(serviceLocalChainName('ns2/svc2:p80', 'tcp')).toBe('KUBE-SVL-GNZBNJ2PO5MGZ6GT');
    expect(serviceExternalChainName('ns2/svc2:p80', 'tcp')).toBe('KUBE-EXT-GNZBNJ2PO5MGZ6GT');
    expect(serviceFirewallChainName('ns5/svc5:p80', 'tcp')).toBe('KUBE-FW-NUKIZ6OKUXPJNT4C');
  });

  const sep: [string, string, string, string][] = [
    ['ns1/svc1:p80', 'tcp', '10.180.0.1:80', 'KUBE-SEP-SXIVWICOYRO3J4NJ'],
    ['ns1/svc1:p80', 'sctp', '10.180.0.1:80', 'KUBE-SEP-RFW33Y6OHVBQ4W3M'],
    ['ns4/svc4:p80', 'tcp', '10.180.0.4:80', 'KUBE-SEP-UKSFD7AGPMPPLUHC'],
    ['ns4/svc4:p80', 'tcp', '10.180.0.5:80', 'KUBE-SEP-C6EBXVWJJZMIWKLZ'],
    ['openshift-dns/dns-default:dns', 'udp', '10.180.0.1:5353', 'KUBE-SEP-DYOI7QYSVZXR6VUA'],
  ];
  it.each(sep)('%s/%s %s -> %s', (name, proto, ep, want) => {
    expect(endpointChainName(name, proto, ep)).toBe(want);
  });

  it('ServicePortName.String omits the colon for an unnamed port', () => {
    expect(servicePortNameString('ns', 'svc', '')).toBe('ns/svc');
    expect(servicePortNameString('ns', 'svc', 'http')).toBe('ns/svc:http');
  });

  it('base32 matches RFC 4648 test vectors', () => {
    const enc = (s: string) => base32Std(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('MY======');
    expect(enc('fo')).toBe('MZXQ====');
    expect(enc('foo')).toBe('MZXW6===');
    expect(enc('foob')).toBe('MZXW6YQ=');
    expect(enc('fooba')).toBe('MZXW6YTB');
    expect(enc('foobar')).toBe('MZXW6YTBOI======');
  });
});
