import { describe, expect, it } from 'vitest';
import { chainLines, parseNoErrors } from '../cni/testing/edge.js';
import type { Service } from '../k8s/types.js';
import {
  CODE_KLIPPER_ENV,
  CODE_KLIPPER_IPV6,
  compileKlipperLb,
  compileSvclbPod,
  svclbContainers,
  type SvclbContainer,
} from './klipper-lb.js';

function svc(spec: Partial<Service['spec']>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'traefik', namespace: 'kube-system' },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.43.12.7',
      clusterIPs: ['10.43.12.7'],
      ports: [{ name: 'web', port: 80, protocol: 'TCP', nodePort: 31080 }],
      ...spec,
    },
  };
}

describe('svclbContainers (k3s servicelb.go newDaemonSet)', () => {
  it.each([
    [
      'ETP Cluster: DEST_IPS = clusterIPs, DEST_PORT = port',
      svc({}),
      [
        {
          name: 'lb-tcp-80',
          SRC_PORT: '80',
          SRC_RANGES: '0.0.0.0/0',
          DEST_PROTO: 'TCP',
          DEST_PORT: '80',
          DEST_IPS: '10.43.12.7',
        },
      ],
    ],
    [
      'ETP Local: DEST_IPS = hostIPs, DEST_PORT = nodePort',
      svc({ externalTrafficPolicy: 'Local' }),
      [
        {
          name: 'lb-tcp-80',
          SRC_PORT: '80',
          SRC_RANGES: '0.0.0.0/0',
          DEST_PROTO: 'TCP',
          DEST_PORT: '31080',
          DEST_IPS: '192.168.1.10',
        },
      ],
    ],
    [
      'loadBalancerSourceRanges, two ports',
      svc({
        loadBalancerSourceRanges: ['1.2.3.0/24', '5.6.7.8/32'],
        ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }],
      }),
      [
        {
          name: 'lb-tcp-80',
          SRC_PORT: '80',
          SRC_RANGES: '1.2.3.0/24 5.6.7.8/32',
          DEST_PROTO: 'TCP',
          DEST_PORT: '80',
          DEST_IPS: '10.43.12.7',
        },
        {
          name: 'lb-udp-53',
          SRC_PORT: '53',
          SRC_RANGES: '1.2.3.0/24 5.6.7.8/32',
          DEST_PROTO: 'UDP',
          DEST_PORT: '53',
          DEST_IPS: '10.43.12.7',
        },
      ],
    ],
  ])('%s', (_name, s, want) => {
    const { containers, diagnostics } = svclbContainers(s, ['192.168.1.10']);
    expect(containers).toEqual(want);
    expect(diagnostics).toEqual([]);
  });

  it('ETP Local without a nodePort is an error', () => {
    const { diagnostics } = svclbContainers(
      svc({ externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
      ['192.168.1.10'],
    );
    expect(diagnostics).toMatchObject([
      {
        code: CODE_KLIPPER_ENV,
        field: 'spec.ports[0].nodePort',
        object: 'Service kube-system/traefik',
      },
    ]);
  });
});

describe('compileKlipperLb (klipper-lb entry start_proxy)', () => {
  it('golden: one port, ETP Cluster (seed 001: svclb pod DNAT to the ClusterIP, then MASQUERADE)', () => {
    const out = compileSvclbPod(svc({}), ['192.168.1.10']);
    expect(out.text).toBe(
      [
        '*filter',
        '-I FORWARD 1 -p tcp -m tcp --dport 80 -j ACCEPT',
        '-A FORWARD -d 10.43.12.7/32 -p tcp -m tcp --dport 80 -j DROP',
        'COMMIT',
        '*nat',
        '-I PREROUTING 1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.12.7:80',
        '-I POSTROUTING 1 -d 10.43.12.7/32 -p tcp -j MASQUERADE',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(out.diagnostics).toEqual([]);
  });

  it('inserts stack: the last container and the last range end up first', () => {
    const containers: SvclbContainer[] = [
      {
        name: 'lb-tcp-80',
        SRC_PORT: '80',
        SRC_RANGES: '1.2.3.0/24 5.6.7.8',
        DEST_PROTO: 'TCP',
        DEST_PORT: '80',
        DEST_IPS: '10.43.0.10',
      },
      {
        name: 'lb-tcp-443',
        SRC_PORT: '443',
        SRC_RANGES: '1.2.3.0/24 5.6.7.8',
        DEST_PROTO: 'TCP',
        DEST_PORT: '443',
        DEST_IPS: '10.43.0.10',
      },
    ];
    const out = compileKlipperLb({ containers });
    expect(chainLines(out.saveText, 'filter', 'FORWARD')).toEqual([
      '-A FORWARD -s 5.6.7.8/32 -p tcp -m tcp --dport 443 -j ACCEPT',
      '-A FORWARD -s 1.2.3.0/24 -p tcp -m tcp --dport 443 -j ACCEPT',
      '-A FORWARD -s 5.6.7.8/32 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A FORWARD -s 1.2.3.0/24 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A FORWARD -d 10.43.0.10/32 -p tcp -m tcp --dport 80 -j DROP',
      '-A FORWARD -d 10.43.0.10/32 -p tcp -m tcp --dport 443 -j DROP',
    ]);
    expect(chainLines(out.saveText, 'nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -p tcp -m tcp --dport 443 -j DNAT --to-destination 10.43.0.10:443',
      '-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.0.10:80',
    ]);
    // Both containers insert the same MASQUERADE rule; plain `iptables -I` keeps both.
    expect(chainLines(out.saveText, 'nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE',
      '-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE',
    ]);
  });

  it('ETP Local: DNAT to the node IP and nodePort', () => {
    const out = compileSvclbPod(svc({ externalTrafficPolicy: 'Local' }), ['192.168.1.10']);
    expect(chainLines(out.saveText, 'nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.1.10:31080',
    ]);
    expect(chainLines(out.saveText, 'filter', 'FORWARD')[0]).toBe(
      '-A FORWARD -p tcp -m tcp --dport 31080 -j ACCEPT',
    );
  });

  it('source-guard variant (entry @06a59bf)', () => {
    const out = compileSvclbPod(svc({}), ['192.168.1.10'], 'source-guard');
    expect(chainLines(out.saveText, 'nat', 'PREROUTING')).toEqual([
      '-A PREROUTING ! -s 10.43.12.7/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.12.7:80',
    ]);
  });

  it('dual-stack: the IPv6 ClusterIP is reported, not modelled', () => {
    const out = compileSvclbPod(svc({ clusterIPs: ['10.43.12.7', 'fd00:43::7'] }), []);
    expect(out.diagnostics.map((d) => d.code)).toEqual([CODE_KLIPPER_IPV6]);
    expect(chainLines(out.saveText, 'nat', 'PREROUTING')).toHaveLength(1);
  });

  it.each([
    [{ DEST_PROTO: 'ICMP' }, 'DEST_PROTO'],
    [{ SRC_PORT: '0' }, 'SRC_PORT'],
    [{ DEST_PORT: 'http' }, 'DEST_PORT'],
    [{ DEST_IPS: 'service.local' }, 'DEST_IPS'],
    [{ SRC_RANGES: '1.2.3.0/33' }, 'SRC_RANGES'],
  ])('bad env %o → error on %s', (env, name) => {
    const base: SvclbContainer = {
      name: 'lb-tcp-80',
      SRC_PORT: '80',
      SRC_RANGES: '0.0.0.0/0',
      DEST_PROTO: 'TCP',
      DEST_PORT: '80',
      DEST_IPS: '10.43.0.10',
    };
    const out = compileKlipperLb({
      containers: [{ ...base, ...env }],
      object: 'Pod kube-system/svclb-traefik-x',
    });
    expect(out.diagnostics).toMatchObject([
      { code: CODE_KLIPPER_ENV, severity: 'error', field: `spec.containers[0].env.${name}` },
    ]);
  });

  it('every generated text parses without errors', () => {
    for (const s of [
      svc({}),
      svc({ externalTrafficPolicy: 'Local' }),
      svc({ loadBalancerSourceRanges: ['1.2.3.0/24'] }),
    ]) {
      const out = compileSvclbPod(s, ['192.168.1.10']);
      expect(parseNoErrors(out.text).errors).toEqual([]);
      expect(parseNoErrors(out.saveText).errors).toEqual([]);
    }
  });
});
