/**
 * The real kernel as the oracle for `-m limit` and `-j NFLOG` (both common in
 * hand-written and generated dumps: log a few packets, then stop): every
 * spelling iptables-save prints back as packeteye prints it, and a burst of
 * 3 lets exactly 3 of 5 SYNs match, in the kernel (rule counter) and in the
 * model (5 packets through one host's netfilter, no time passing).
 */
import { describe, expect, it } from 'vitest';
import { parseIptablesSave, serializeRuleset } from '../iptables/index.js';
import { Netfilter, newSkb } from '../kernel/netfilter/index.js';
import { TestEnv, tcp } from '../kernel/netfilter/testing/env.js';
import { SeededChooser } from '../kernel/random.js';
import {
  canEmulate,
  counterAt,
  rulePositions,
  sendRawTcp,
  TCP_FLAG,
  withTopology,
  type TopologyDesc,
} from './index.js';
import { routerLine } from './testing/router.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'socat'];

const DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SPELLINGS - [0:0]
-A FORWARD -i eth0 -m limit --limit 1/hour --limit-burst 3 -j MARK --set-xmark 0x1/0x1
-A FORWARD -i eth0 -j NFLOG --nflog-prefix "pe test" --nflog-group 100
-A SPELLINGS -m limit --limit 10/minute -j NFLOG --nflog-group 5 --nflog-threshold 3
-A SPELLINGS -m limit --limit 3/s --limit-burst 10 -j NFLOG --nflog-size 128
-A SPELLINGS -m limit --limit 100/day -j NFLOG --nflog-range 64
-A SPELLINGS -m limit --limit 7/hour -j NFLOG
-A SPELLINGS -m limit -j LOG
COMMIT
`;

function topology(): TopologyDesc {
  return routerLine({
    client: ['10.1.0.2/24'],
    routerIn: ['10.1.0.1/24'],
    routerOut: ['172.31.2.1/24'],
    server: ['172.31.2.2/24'],
  });
}

describe.skipIf(!canEmulate(TOOLS))(
  'limit and NFLOG: packeteye agrees with the real kernel',
  () => {
    it('prints every spelling as iptables-save does, and a burst of 3 lets 3 of 5 SYNs match', async () => {
      const parsed = parseIptablesSave(DUMP, 'router.rules');
      expect(parsed.diagnostics).toEqual([]);
      await withTopology(topology(), async (lab) => {
        const router = lab.ns('router');
        router.iptablesRestore(DUMP);
        const rulesOf = (t: string) => t.split('\n').filter((l) => l.startsWith('-A '));
        expect(rulesOf(serializeRuleset(parsed.ruleset))).toEqual(
          rulesOf(router.exec(['iptables-save', '-t', 'filter'])),
        );

        const limited = rulePositions(DUMP).find((p) => p.chain === 'FORWARD' && p.index === 1)!;
        const before = counterAt(router.counters(), limited).packets;
        for (let i = 0; i < 5; i++) {
          sendRawTcp(lab.ns('client'), {
            src: '10.1.0.2',
            dst: '172.31.2.2',
            sport: 42000 + i,
            dport: 80,
            seq: 1,
            ack: 0,
            flags: TCP_FLAG.SYN,
          });
        }
        const kernel = counterAt(router.counters(), limited).packets - before;

        // The model: the same five SYNs through one host's netfilter, the clock standing still.
        const nf = new Netfilter(parsed.ruleset, new TestEnv());
        let model = 0;
        for (let i = 0; i < 5; i++) {
          const out = nf.run(
            'FORWARD',
            newSkb(tcp('10.1.0.2', 42000 + i, '172.31.2.2', 80)),
            { inIface: 'eth0', outIface: 'eth1' },
            new SeededChooser(1),
          );
          if (out.verdict !== 'ACCEPT') throw new Error(`model verdict ${out.verdict}`);
          if ((out.skb.mark & 1) === 1) model++;
        }
        expect({ kernel, model }).toEqual({ kernel: 3, model: 3 });
      });
    });
  },
);
