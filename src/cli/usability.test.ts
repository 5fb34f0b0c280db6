/**
 * The CLI's kubectl-style surface, in-process (main + memoryIo): `-o yaml`
 * is the `-o json` document, `-n` qualifies bare refs, `-f` takes
 * directories and stdin, progress only on a TTY stderr, every bad input is
 * exit 2 with a message and no stack, and every help example runs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { qualifyRef } from '../trace/refs.js';
import { memoryIo, processIo } from './io.js';
import { main } from './main.js';

const TWO = readFileSync('examples/two-nodes.yaml', 'utf8');
const TIER = readFileSync('examples/three-tier-policy.yaml', 'utf8');
const RULES = readFileSync('examples/iptables/kube-proxy-node.rules', 'utf8');
const FILES: Record<string, string> = {
  'examples/two-nodes.yaml': TWO,
  'examples/three-tier-policy.yaml': TIER,
  'examples/iptables/kube-proxy-node.rules': RULES,
};

async function cli(args: string[], files = FILES, opts: Parameters<typeof memoryIo>[1] = {}) {
  const io = memoryIo(files, opts);
  const code = await main(args, io);
  return { code, out: io.stdout, bytes: io.stdoutBytes, err: io.stderr };
}

const TRACE = ['trace', '-f', 'examples/two-nodes.yaml'];
const IPT = [
  'iptables',
  'trace',
  '--rules',
  'examples/iptables/kube-proxy-node.rules',
  '--src',
  '10.244.1.9',
  '--dst',
  '10.96.12.34',
  '--dport',
  '80',
  '--local-ip',
  '192.168.1.10',
];

describe('-o yaml is the -o json document', () => {
  it.each([
    ['trace', [...TRACE, '--from', 'default/frontend', '--to', 'svc/default/store-be:80']],
    [
      'trace --all-paths',
      [...TRACE, '--from', 'default/frontend', '--to', 'svc/default/store-be:80', '--all-paths'],
    ],
    ['iptables trace', [...IPT, '--all-paths', '--reply']],
    ['reach', ['reach', '-f', 'examples/three-tier-policy.yaml']],
    ['reach --port', ['reach', '-f', 'examples/three-tier-policy.yaml', '--port', 'TCP/80']],
    [
      'reach --explain',
      ['reach', '-f', 'examples/three-tier-policy.yaml', '--explain', 'store/fe-1', 'store/be-1'],
    ],
  ])('%s', async (_name, args) => {
    const json = await cli([...args, '-o', 'json']);
    const yaml = await cli([...args, '-o', 'yaml']);
    expect(json.code).toBe(0);
    expect(yaml.code).toBe(0);
    expect(yaml.err).toBe(json.err);
    // YAML, not JSON in disguise: block style, no anchors/aliases.
    expect(yaml.out.trimStart().startsWith('{')).toBe(false);
    expect(yaml.out).not.toMatch(/[&*]a\d+\b/);
    expect(parse(yaml.out)).toEqual(JSON.parse(json.out));
  });
});

describe('-o wide: the text view with more columns, as kubectl wide', () => {
  it('trace: every text line is kept; each hop adds its netfilter path and frames', async () => {
    const args = [...TRACE, '--from', 'default/frontend', '--to', 'svc/default/store-be:80'];
    const text = await cli(args);
    const wide = await cli([...args, '-o', 'wide']);
    expect(wide.code).toBe(0);
    const wideLines = wide.out.split('\n');
    // The default view is a subsequence of the wide one.
    let at = 0;
    for (const l of text.out.split('\n')) {
      at = wideLines.indexOf(l, at);
      expect(at, l).toBeGreaterThanOrEqual(0);
    }
    expect(wide.out).toMatch(
      /nf {4}PREROUTING {2}nat: PREROUTING#1 → KUBE-SERVICES#\d+ → KUBE-SVC-\w{8}…#\d+ → KUBE-SEP-\w{8}…#2 DNAT/,
    );
    expect(wide.out).toMatch(/nf {4}FORWARD {5}filter: FORWARD#2 → KUBE-FORWARD#\d+ ACCEPT/);
    expect(wide.out).toMatch(/rx {4}vethcbc7bbff ee:e6:ff:41:bf:06 > 4a:ed:c3:db:9c:9d/);
  });

  it('reach: an IP column beside each row', async () => {
    const r = await cli(['reach', '-f', 'examples/three-tier-policy.yaml', '-o', 'wide']);
    expect(r.code).toBe(0);
    const [header, first] = r.out.split('\n');
    expect(header).toMatch(/^from\\to +IP +store\/be-1/);
    expect(first).toMatch(/^store\/be-1 +10\.244\.1\.21 +all +TCP 6379/);
  });
});

describe('-n NAMESPACE: bare refs as kubectl resolves them', () => {
  it.each([
    ['frontend', 'default', 'default/frontend'],
    ['frontend:8080', 'shop', 'shop/frontend:8080'],
    ['frontend:http', 'shop', 'shop/frontend:http'],
    ['svc/api:80', 'shop', 'svc/shop/api:80'],
    ['svc/api', 'shop', 'svc/shop/api'],
    ['svc/default/api:80', 'shop', 'svc/default/api:80'],
    ['default/frontend', 'shop', 'default/frontend'],
    ['node/node-1:10250', 'shop', 'node/node-1:10250'],
    ['host/client:80', 'shop', 'host/client:80'],
    ['10.0.0.1', 'shop', '10.0.0.1'],
    ['10.0.0.1:53', 'shop', '10.0.0.1:53'],
    ['999.1.1.1:80', 'shop', '999.1.1.1:80'],
  ])('qualifyRef(%j, %j) = %j', (ref, ns, want) => {
    expect(qualifyRef(ref, ns)).toBe(want);
  });

  it('bare names default to namespace default, the same trace as the full refs', async () => {
    const full = await cli([
      ...TRACE,
      '--from',
      'default/frontend',
      '--to',
      'svc/default/store-be:80',
      '-o',
      'json',
    ]);
    const bare = await cli([
      ...TRACE,
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
      '-o',
      'json',
    ]);
    expect(bare.code).toBe(0);
    expect(JSON.parse(bare.out)).toEqual(JSON.parse(full.out));
  });

  it('-n kube-system resolves bare pod and Service names there; full refs are untouched', async () => {
    const r = await cli([
      ...TRACE,
      '-n',
      'kube-system',
      '--from',
      'default/frontend',
      '--to',
      'svc/kube-dns:53',
      '--proto',
      'udp',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(t.from.ref).toBe('default/frontend');
    expect(t.to.ref).toBe('svc/kube-system/kube-dns:53');
    expect(t.proto).toBe('udp');
    const p = await cli([...TRACE, '-n', 'kube-system', '--from', 'coredns-1', '--to', 'db:6379']);
    expect(p.code).toBe(2);
    expect(p.err).toMatch(
      /--to kube-system\/db:6379: no such Pod[\s\S]*did you mean .*default\/db/,
    );
  });

  it('rules --pod NAME -n NS', async () => {
    const ok = await cli([
      'rules',
      '-f',
      'examples/two-nodes.yaml',
      '--node',
      'node-1',
      '-n',
      'default',
      '--pod',
      'frontend',
      '--only',
      'addrs',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/inet 10\.11\.0\.2\/\d+ scope global eth0/);
    const bad = await cli([
      'rules',
      '-f',
      'examples/two-nodes.yaml',
      '--node',
      'node-1',
      '-n',
      'kube-system',
      '--pod',
      'frontend',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--pod frontend: no such Pod on node node-1/);
  });
});

describe('-f DIR and -f -', () => {
  const docs = TWO.split(/^---$/m);
  const half = Math.ceil(docs.length / 2);
  const split: Record<string, string> = {
    // Name order puts the Cluster and Nodes first, as the single file does.
    'cluster/01-nodes.yaml': docs.slice(0, half).join('---'),
    'cluster/02-pods.yml': `---${docs.slice(half).join('---')}`,
    'cluster/README.md': 'not a manifest',
    'cluster/old/03-stale.yaml': 'this: [is not read',
    'empty/notes.txt': 'no manifests',
  };

  it('memoryIo.listDir lists *.yaml/*.yml/*.json, sorted, not recursive', () => {
    const io = memoryIo({
      'd/b.json': '',
      'd/a.yaml': '',
      'd/c.yml': '',
      'd/x.txt': '',
      'd/s/e.yaml': '',
    });
    expect(io.listDir('d')).toEqual(['d/a.yaml', 'd/b.json', 'd/c.yml']);
    expect(io.listDir('d/')).toEqual(['d/a.yaml', 'd/b.json', 'd/c.yml']);
    expect(io.listDir('d/a.yaml')).toBeUndefined();
    expect(io.listDir('-')).toBeUndefined();
  });

  it('processIo.listDir reads a real directory the same way', () => {
    const io = processIo();
    const listed = io.listDir('examples');
    expect(listed).toContain('examples/two-nodes.yaml');
    expect(listed).toEqual([...listed!].sort());
    expect(listed!.some((f) => f.includes('iptables'))).toBe(false);
    expect(io.listDir('examples/two-nodes.yaml')).toBeUndefined();
    expect(() => io.listDir('examples/no-such-dir')).toThrow(/no such file or directory/);
  });

  it('a cluster split over a directory traces as the single file does', async () => {
    const args = ['--from', 'frontend', '--to', 'svc/store-be:80', '-o', 'json'];
    const one = await cli([...TRACE, ...args]);
    const dir = await cli(['trace', '-f', 'cluster', ...args], split);
    expect(dir.err).toBe('');
    expect(dir.code).toBe(0);
    const strip = (t: { defaults?: unknown }) => ({ ...t, defaults: undefined });
    expect(strip(JSON.parse(dir.out))).toEqual(strip(JSON.parse(one.out)));
  });

  it('-f - reads stdin (kubectl get -o yaml | packeteye …)', async () => {
    const r = await cli(
      ['reach', '-f', '-', '--port', 'TCP/80', '-o', 'json'],
      {},
      { stdin: TIER },
    );
    const f = await cli([
      'reach',
      '-f',
      'examples/three-tier-policy.yaml',
      '--port',
      'TCP/80',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(f.out);
  });

  it('reads a kubectl get -o yaml List on stdin', async () => {
    const items = parseAllDocuments(TIER)
      .map((d) => d.toJS() as unknown)
      .filter((o) => o !== null);
    const list = `apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: ""\n${stringify({ items })}`;
    const r = await cli(
      ['reach', '-f', '-', '--port', 'TCP/80', '-o', 'json'],
      {},
      { stdin: list },
    );
    const f = await cli([
      'reach',
      '-f',
      'examples/three-tier-policy.yaml',
      '--port',
      'TCP/80',
      '-o',
      'json',
    ]);
    expect(r.err).toBe('');
    expect(r.out).toBe(f.out);
  });

  it('a directory without manifests is bad input that says so', async () => {
    const r = await cli(['reach', '-f', 'empty'], split);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^empty: error: directory holds no \*\.yaml, \*\.yml or \*\.json files/);
  });
});

describe('progress on stderr, only when stderr is a terminal', () => {
  it.each([
    [
      'reach',
      ['reach', '-f', 'examples/three-tier-policy.yaml'],
      /computing the matrix for 4 pods/,
    ],
    [
      'trace',
      [...TRACE, '--from', 'frontend', '--to', 'svc/store-be:80'],
      /building the twin and tracing \(2 nodes\)/,
    ],
    [
      'rules',
      ['rules', '-f', 'examples/two-nodes.yaml', '--node', 'node-2', '--only', 'routes'],
      /building node-2 \(3 pods\)/,
    ],
  ])('%s', async (_name, args, line) => {
    const quiet = await cli(args);
    const tty = await cli(args, FILES, { errIsTty: true });
    expect(quiet.code).toBe(0);
    expect(quiet.err).toBe('');
    expect(tty.out).toBe(quiet.out);
    expect(tty.err).toMatch(line);
    // One line, rewritten in place and cleared at the end: no newline ever.
    expect(tty.err).not.toContain('\n');
    expect(tty.err.startsWith('\r\x1b[K')).toBe(true);
    expect(tty.err.endsWith('\r\x1b[K')).toBe(true);
  });
});

describe('bad input: exit 2, what is wrong and what to do, no stack', () => {
  it.each([
    [[...TRACE, '--from', 'frontend', '--to', 'db', '--bogus'], /unknown option '--bogus'/],
    [[...TRACE, '--to', 'db'], /required option '--from <ref>' not specified/],
    // without -f the kubeconfig's cluster is read: none here (or no kubectl) says what to do
    [
      ['trace', '--kubeconfig', '/nonexistent/kubeconfig', '--from', 'frontend', '--to', 'db'],
      /give the cluster as files with -f/,
    ],
    [
      [...TRACE, '--from', 'frontend', '--to', 'db', '--proto', 'xx'],
      /--proto "xx" is not one of tcp, udp, icmp[\s\S]*hint: e\.g\. --proto udp/,
    ],
    [
      [...TRACE, '--from', 'frontend', '--to', 'db', '--sport', '70000'],
      /--sport "70000": not an integer in 1–65535[\s\S]*hint: give --sport/,
    ],
    [
      [...TRACE, '--from', 'frontend', '--to', 'db', '-o', 'xml'],
      /-o "xml" is not one of text, wide, json, yaml, mermaid, html/,
    ],
    [
      [...TRACE, '--from', 'frontend', '--to', '999.1.1.1:80'],
      /--to 999\.1\.1\.1:80: 999\.1\.1\.1 is not an IPv4 address[\s\S]*four numbers 0–255/,
    ],
    [
      [...TRACE, '--from', 'frontnd', '--to', 'db'],
      /--from default\/frontnd: no such Pod[\s\S]*did you mean default\/frontend/,
    ],
    [
      [...TRACE, '--from', 'frontend', '--to', 'svc/kube-dns:99', '-n', 'kube-system'],
      /has no port 99; it has 53\/UDP, 53\/TCP/,
    ],
    [
      ['trace', '-f', 'nope.yaml', '--from', 'a', '--to', 'b'],
      /^nope\.yaml: error: no such file or directory/,
    ],
    [
      ['rules', '-f', 'examples/two-nodes.yaml', '--node', 'nod-1'],
      /--node nod-1: no such Node[\s\S]*did you mean node-1/,
    ],
    [
      ['rules', '-f', 'examples/two-nodes.yaml', '--node', 'node-1', '--after-trace'],
      /--after-trace needs --from and --to[\s\S]*hint: e\.g\./,
    ],
    [
      ['rules', '-f', 'examples/two-nodes.yaml', '--node', 'node-1', '--from', 'frontend'],
      /--from\/--to only apply with --after-trace[\s\S]*hint: add --after-trace/,
    ],
    [
      ['rules', '-f', 'examples/two-nodes.yaml', '--node', 'node-1', '--only', 'nat'],
      /--only "nat" is not one of/,
    ],
    [
      ['reach', '-f', 'examples/three-tier-policy.yaml', '--port', '80'],
      /--port "80" is not PROTOCOL\/PORT[\s\S]*hint: write e\.g\. TCP\/80/,
    ],
    [
      ['reach', '-f', 'examples/three-tier-policy.yaml', '-o', 'xml'],
      /-o "xml" is not one of table, wide, json, yaml, csv, md/,
    ],
    [
      [...IPT.slice(0, 8), '--dport', 'http'],
      /--dport "http" is not a port[\s\S]*hint: give --dport a number/,
    ],
    [['trac'], /unknown command 'trac'/],
  ])('%j', async (args, msg) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(msg);
    expect(r.err).not.toMatch(/^\s+at /m);
    expect(r.err).not.toMatch(/internal error/);
  });
});

describe('--help: every command shows examples, and every example runs', () => {
  const HELPS = [[], ['trace'], ['rules'], ['reach'], ['iptables'], ['iptables', 'trace']];

  /** The example lines `packeteye …` a help text shows, with stdin when it pipes or redirects a file. */
  function examples(help: string): { args: string[]; stdin?: string }[] {
    const out: { args: string[]; stdin?: string }[] = [];
    for (const raw of help.split('\n')) {
      const line = raw.trim();
      const piped = /^cat (\S+) \| packeteye (.*)$/.exec(line);
      if (line.startsWith('kubectl ')) continue; // needs a live cluster
      const cmd = piped ? piped[2]! : line.startsWith('packeteye ') ? line.slice(10) : undefined;
      if (cmd === undefined) continue;
      // An output redirect (`-o pcap > trace.pcap`) is the shell's business, not an argument.
      const [argText, redirect] = cmd.replace(/ > \S+$/, '').split(' < ');
      const stdinFile = piped ? piped[1] : redirect;
      out.push({
        args: argText!.trim().split(/\s+/),
        ...(stdinFile !== undefined ? { stdin: FILES[stdinFile.trim()]! } : {}),
      });
    }
    return out;
  }

  it.each(HELPS.map((h) => [h.join(' ') || 'packeteye', h] as const))(
    '%s --help',
    async (_n, cmd) => {
      const r = await cli([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/\nExamples:\n/);
      const ex = examples(r.out);
      expect(ex.length).toBeGreaterThanOrEqual(1);
      expect(ex.length).toBeLessThanOrEqual(3);
      for (const e of ex) {
        const run = await cli(e.args, FILES, e.stdin !== undefined ? { stdin: e.stdin } : {});
        // conntrack -L's own summary line belongs on stderr (rules --only conntrack); nothing else may be there.
        const err = run.err.replace(
          /^conntrack v\S+ \(conntrack-tools\): \d+ flow entries have been shown\.\n/m,
          '',
        );
        expect({ args: e.args, code: run.code, err }).toEqual({
          args: e.args,
          code: 0,
          err: '',
        });
        expect(run.out.length + run.bytes.length).toBeGreaterThan(0);
      }
    },
  );
});
