/**
 * emulate/: the real Linux kernel as packeteye's oracle.
 *
 * packeteye's claims about Linux (netfilter verdicts, NAT, conntrack) are
 * checked here against the kernel itself: build the same topology in real
 * network namespaces, load the same `iptables-save` text with
 * `iptables-restore`, send real packets, and read what the kernel did from
 * its own tools — `iptables-save -c` rule counters, `conntrack -L` tuples,
 * `nstat` counters, and what the server and client sockets saw.
 *
 * This adapter alone spawns processes (`ip`, `iptables-restore`,
 * `iptables-save`, `conntrack`, `sysctl`, `nstat`, `socat`, `tcpdump`, and Node traffic
 * scripts under `ip netns exec`). Every spawn has a timeout; namespaces are
 * named `pe-<pid>-<n>`, traffic stays on addresses inside them, and
 * `withTopology` deletes everything it made, also when the test fails.
 * Tests using it are `*.kernel.test.ts` and skip unless `canEmulate()`.
 *
 *   model:  Host ─► stack ─► netfilter ─► Fate          (kernel/)
 *   real:   netns ─► Linux ─► iptables ─► counters, conntrack -L, sockets
 *                     └──────── compared, step by step ────────┘
 */
export {
  CommandError,
  Lab,
  Netns,
  NETNS_PREFIX,
  TRAFFIC_TIMEOUT_MS,
  canEmulate,
  listNetns,
  run,
  shellQuote,
  spawnIn,
  sweepLeftovers,
  tryRun,
  withTopology,
  type NetnsDesc,
  type RouteSpec,
  type RunOptions,
  type RunResult,
  type Spawned,
  type TopologyDesc,
  type VethDesc,
  type VethEnd,
} from './netns.js';
export {
  TCP_FLAG,
  captureTcp,
  internetChecksum,
  parseTcpdump,
  runClient,
  sendRawTcp,
  startServer,
  tcpHeader,
  type Capture,
  type CapturedTcp,
  type ClientResult,
  type ClientSpec,
  type Proto,
  type RawTcp,
  type Server,
  type ServerSaw,
  type ServerSpec,
} from './traffic.js';
export {
  chainCounter,
  counterAt,
  parseConntrack,
  parseNstat,
  parseSave,
  rulePositions,
  type ChainCounter,
  type Counters,
  type CtEntry,
  type CtTuple,
  type RuleCounter,
  type RulePosition,
} from './oracle.js';
export { buildRealTwin, type RealTwin } from './twin.js';
