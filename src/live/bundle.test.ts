import { describe, expect, it } from 'vitest';
import {
  collectComplete,
  collectScript,
  debugNodeArgs,
  debugPodName,
  formatManifest,
  holdsRules,
  parseCollectOutput,
  parseManifest,
  primaryIptables,
} from './bundle.js';

const KUBE =
  '*filter\n:INPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A INPUT -j KUBE-SERVICES\nCOMMIT\n';
const EMPTY = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

/** What the collect script prints, section by section (the shape of its echo lines). */
function output(sections: [string, string, number][], missing: [string, string][] = []): string {
  let s = "If you don't see a command prompt, try pressing enter.\n";
  for (const [name, body, rc] of sections)
    s += `@@PACKETEYE-BEGIN ${name}\n${body}\n@@PACKETEYE-END ${name} rc=${rc}\n`;
  for (const [f, t] of missing) s += `@@PACKETEYE-MISSING ${f} ${t}\n`;
  return s;
}

describe('parseCollectOutput', () => {
  it('files, metadata, missing tools and the iptables back end', () => {
    const b = parseCollectOutput(
      output(
        [
          ['hostname', 'worker-1\n', 0],
          ['uname', '6.1.0-18-amd64\n', 0],
          ['date', '2026-12-07T04:00:00Z\n', 0],
          ['uid', '0\n', 0],
          ['iptables-legacy.save', EMPTY, 0],
          ['iptables-nft.save', KUBE, 0],
          [
            'ip-route.json',
            '[{"dst":"default","gateway":"192.168.56.1","dev":"eth0","flags":[]}]',
            0,
          ],
          ['conntrack.txt', '', 0],
          [
            'conntrack.txt.stderr',
            'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n',
            0,
          ],
          ['ipset.save', '', 1],
          ['ipset.save.stderr', 'ipset v7.17: Kernel error received: Operation not permitted\n', 0],
        ],
        [['nft.ruleset', 'nft']],
      ),
    );
    expect(b.manifest.metadata.name).toBe('worker-1');
    expect(b.manifest.spec).toMatchObject({
      collectedAt: '2026-12-07T04:00:00Z',
      kernel: '6.1.0-18-amd64',
      iptablesMode: 'nft',
    });
    expect([...b.files.keys()].sort()).toEqual([
      'conntrack.txt',
      'ip-route.json',
      'ipset.save',
      'iptables-legacy.save',
      'iptables-nft.save',
    ]);
    expect(b.files.get('iptables-nft.save')).toBe(KUBE);
    expect(b.files.get('ip-route.json')).toBe(
      '[{"dst":"default","gateway":"192.168.56.1","dev":"eth0","flags":[]}]\n',
    );
    expect(b.manifest.spec.files.find((f) => f.name === 'nft.ruleset')).toEqual({
      name: 'nft.ruleset',
      command: 'nft -a list ruleset',
      missing: true,
    });
    expect(b.manifest.spec.warnings).toEqual([
      'ipset save exited 1: ipset v7.17: Kernel error received: Operation not permitted',
    ]);
    expect(primaryIptables(b)).toEqual({ file: 'iptables-nft.save', text: KUBE });
  });
  it('says when not root and when both back ends hold rules', () => {
    const b = parseCollectOutput(
      output([
        ['hostname', 'n', 0],
        ['uid', '1000', 0],
        ['iptables-legacy.save', KUBE, 0],
        ['iptables-nft.save', KUBE, 0],
      ]),
    );
    expect(b.manifest.spec.iptablesMode).toBe('both');
    expect(b.manifest.spec.warnings.join('\n')).toMatch(/uid 1000, not root/);
    expect(b.manifest.spec.warnings.join('\n')).toMatch(/both iptables back ends/);
  });
  it.each([
    [EMPTY, false],
    [KUBE, true],
    ['*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\nCOMMIT\n', true],
    ['', false],
  ])('holdsRules %#', (t, want) => expect(holdsRules(t)).toBe(want));
});

describe('the manifest', () => {
  it('round-trips and refuses other kinds and versions', () => {
    const b = parseCollectOutput(output([['hostname', 'n1', 0]]));
    const text = formatManifest(b.manifest);
    expect(text).toMatch(/^apiVersion: packeteye\.dev\/v1alpha1\nkind: NodeState\n/);
    expect(parseManifest(text).manifest).toEqual(b.manifest);
    expect(parseManifest(text.replace('v1alpha1', 'v9')).problem).toMatch(
      /apiVersion "packeteye.dev\/v9"/,
    );
    expect(parseManifest('kind: Pod').problem).toMatch(/not NodeState/);
  });
});

describe('the collect script', () => {
  it('only lists and saves', () => {
    const s = collectScript();
    for (const verb of [
      /iptables(-\w+)?-restore/,
      /\bipset (add|del|create|flush|restore|destroy)/,
      /\bip (-\w+ )*(route|addr|link|neigh|rule) (add|del|flush|replace|change|set)/,
      /conntrack -[DFIU]/,
      /sysctl -w/,
      /\bnft (add|delete|flush)/,
    ])
      expect(s).not.toMatch(verb);
    expect(s).toContain('ip -j route show table all');
    expect(s).toContain('net.ipv4.conf.$n.$k');
  });
  it("runs through kubectl debug in the node's root, and the pod is found again", () => {
    const a = debugNodeArgs({ context: 'prod' }, 'worker-1', {
      image: 'busybox:1.36',
      namespace: 'default',
      profile: 'sysadmin',
    });
    expect(a.slice(0, 11)).toEqual([
      '--context',
      'prod',
      '--namespace',
      'default',
      'debug',
      'node/worker-1',
      '--stdin',
      '--image=busybox:1.36',
      '--profile=sysadmin',
      '--',
      'chroot',
    ]);
    expect(a.at(-1)).toBe(collectScript());
    expect(
      debugNodeArgs({}, 'n', { image: 'i', namespace: 'd', profile: 'legacy' }).join(' '),
    ).not.toContain('--profile');
    expect(
      collectComplete(
        '@@PACKETEYE-BEGIN sysctl.txt\nnet.ipv4.ip_forward = 1\n\n@@PACKETEYE-END sysctl.txt rc=0\n',
      ),
    ).toBe(true);
    expect(collectComplete('@@PACKETEYE-BEGIN sysctl.txt\nnet.ipv4.ip_forward = 1\n')).toBe(false);
    expect(
      debugPodName(
        'Creating debugging pod node-debugger-worker-1-x7k2p with container debugger on node worker-1.\n',
      ),
    ).toBe('node-debugger-worker-1-x7k2p');
  });
});
