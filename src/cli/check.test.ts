import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { expectDocument } from '../render/testing/schema.js';

const examples = join(import.meta.dirname, '../../examples');
const STORE = readFileSync(join(examples, 'policy-calico.yaml'), 'utf8');
const LB = readFileSync(join(examples, 'metallb-l2.yaml'), 'utf8');
const STORE_EXPECT = readFileSync(join(examples, 'expectations/store.yaml'), 'utf8');

function doc(statements: string): string {
  return `apiVersion: packeteye.dev/v1alpha1
kind: ConnectivityExpectations
metadata: {name: t}
spec:
  expectations:
${statements
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;
}

async function check(cluster: string, expect: string, ...args: string[]) {
  const io = memoryIo({ 'cluster.yaml': cluster, 'expect.yaml': expect });
  const code = await main(['check', '-f', 'cluster.yaml', '--expect', 'expect.yaml', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

// One row per statement kind and outcome: the statement, the cluster, whether it holds, and
// what the output must show (the refutation for a failing one).
const CASES: {
  name: string;
  cluster: string;
  statement: string;
  holds: boolean;
  shows: RegExp[];
}[] = [
  {
    name: 'reach through a Service, allowed by be-from-fe',
    cluster: STORE,
    statement: '- reach: {from: store/fe-1, to: svc/store/be:8080}',
    holds: true,
    shows: [/allowed by policy \(2 pairs\)/],
  },
  {
    name: 'reach to the database, denied',
    cluster: STORE,
    statement: '- reach: {from: store/fe-1, to: store/db-1, port: TCP/6379}',
    holds: false,
    shows: [/TCP\/6379 DENIED/, /store\/fe-1 is not among its peers \(pods \{role=be\}/],
  },
  {
    name: 'noReach to the database, denied',
    cluster: STORE,
    statement: '- noReach: {from: store/fe-1, to: svc/store/db:6379}',
    holds: true,
    shows: [/denied by policy/],
  },
  {
    name: 'noReach from be to db, which be may reach',
    cluster: STORE,
    statement: '- noReach: {from: store/be-1, to: store/db-1:6379}',
    holds: false,
    shows: [/TCP\/6379 ALLOWED/, /store-net-policy spec\.ingress\[0\] allows TCP 6379/],
  },
  {
    name: 'reach via the data plane (Calico enforces)',
    cluster: STORE,
    statement: '- reach: {from: store/be-1, to: svc/store/db:6379, via: dataplane}',
    holds: true,
    shows: [/answered on every path/],
  },
  {
    name: 'reach via the data plane, dropped by Felix',
    cluster: STORE,
    statement: '- reach: {from: store/fe-1, to: svc/store/db:6379, via: dataplane}',
    holds: false,
    shows: [
      /1 of 1 paths get no answer/,
      /request dropped/,
      /trace store\/fe-1 → svc\/store\/db:6379/,
    ],
  },
  {
    name: 'noReach via the data plane, answered',
    cluster: STORE,
    statement: '- noReach: {from: store/be-1, to: svc/store/db:6379, via: dataplane}',
    holds: false,
    shows: [/1 of 1 paths get an answer/, /DNAT, KUBE-SEP-/],
  },
  {
    name: 'noInternetIngress under default deny',
    cluster: STORE,
    statement: '- noInternetIngress: {namespace: store}',
    holds: true,
    shows: [/no pod in store \(5\) admits traffic from outside/],
  },
  {
    name: 'noInternetIngress with no policy',
    cluster: LB,
    statement: '- noInternetIngress: {namespace: default}',
    holds: false,
    shows: [/0\.0\.0\.0\/0 → default\/web-1: allowed all/, /not isolated for ingress/],
  },
  {
    name: 'noInternetIngress through the data plane: the load balancer and the node ports answer',
    cluster: LB,
    statement: '- noInternetIngress: {namespace: default, via: dataplane}',
    holds: false,
    shows: [
      /from host\/user into default: \d+ get an answer/,
      /host\/user → lb\/default\/web:80: answered on 1 of 1 paths/,
      /host\/user → node\/node-1:30090: answered/,
    ],
  },
  {
    name: 'noInternetIngress through the data plane: a namespace of host-network pods exposes nothing',
    cluster: LB,
    statement: '- noInternetIngress: {namespace: metallb-system, via: dataplane}',
    holds: true,
    shows: [/nothing in metallb-system is exposed/],
  },
  {
    name: 'keepsClientAddress through externalTrafficPolicy Local',
    cluster: LB,
    statement: '- keepsClientAddress: {from: host/user, to: lb/default/web-local:80}',
    holds: true,
    shows: [/the receiver sees 198\.51\.100\.30 on every path/],
  },
  {
    name: 'keepsClientAddress through externalTrafficPolicy Cluster',
    cluster: LB,
    statement: '- keepsClientAddress: {from: host/user, to: lb/default/web:80}',
    holds: false,
    shows: [/sees 192\.168\.60\.12/, /MASQUERADE at node-2 POSTROUTING \(KUBE-POSTROUTING/],
  },
  {
    name: 'reachOnly: the database starts nothing',
    cluster: STORE,
    statement: '- reachOnly: {from: store/db-1, to: []}',
    holds: true,
    shows: [/may reach only the 0 listed destinations/],
  },
  {
    name: 'reachOnly: the backend reaches more than the database',
    cluster: STORE,
    statement: '- reachOnly: {from: store/be-1, to: [svc/store/db:6379]}',
    holds: false,
    shows: [/store\/be-1 → 0\.0\.0\.0\/0: also allowed all/, /not isolated for egress/],
  },
  {
    name: 'reachOnly: every destination listed (default deny leaves be-1 the db and the outside)',
    cluster: STORE,
    statement: '- reachOnly: {from: store/be-1, to: [svc/store/db:6379, 0.0.0.0/0]}',
    holds: true,
    shows: [/may reach only the 2 listed destinations/],
  },
  {
    name: 'reachOnly: a listed port narrower than what the policy allows',
    cluster: STORE,
    statement:
      "- reachOnly: {from: store/be-1, to: [{to: svc/store/db:6379}, {to: 0.0.0.0/0, port: 'UDP/53'}]}",
    holds: false,
    shows: [
      /store\/be-1 → 0\.0\.0\.0\/0: also allowed TCP 1-65535; UDP 1-52,54-65535; SCTP 1-65535/,
      /reaches beyond the list: 1 destination/,
    ],
  },
];

describe('packeteye check: each statement kind, holding and failing', () => {
  it.each(CASES)('$name', async ({ cluster, statement, holds, shows }) => {
    const r = await check(cluster, doc(statement));
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code).toBe(holds ? 0 : 1);
    expect(r.out).toMatch(holds ? /^ok {3}1 / : /^FAIL 1 /);
    for (const s of shows) expect(r.out).toMatch(s);
  });
});

describe('packeteye check: noInternetIngress through the data plane needs somewhere outside', () => {
  it('an except that covers every ExternalHost is exit 2 naming the statement', async () => {
    const r = await check(
      LB,
      doc('- noInternetIngress: {namespace: default, via: dataplane, except: [198.51.100.0/24]}'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /spec\.expectations\[0\]\.noInternetIngress\.namespace: error: no ExternalHost outside except/,
    );
  });
});

describe('packeteye check: outputs', () => {
  const mixed = doc(`
- name: fe reaches be
  reach: {from: store/fe-1, to: svc/store/be:8080}
- name: fe reaches db <&> "quoted"
  reach: {from: store/fe-1, to: svc/store/db:6379}
- noInternetIngress: {namespace: store}
`);

  it('writes JUnit XML that a JUnit reader reads back: suites, cases, one failure with its evidence', async () => {
    const r = await check(STORE, mixed, '-o', 'junit');
    expect(r.code).toBe(1);
    expect(XMLValidator.validate(r.out)).toBe(true);
    const parsed = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => ['testsuite', 'testcase'].includes(name),
    }).parse(r.out) as {
      testsuites: {
        tests: string;
        failures: string;
        testsuite: {
          name: string;
          tests: string;
          failures: string;
          testcase: {
            name: string;
            classname: string;
            failure?: { message: string; '#text': string };
          }[];
        }[];
      };
    };
    expect(parsed.testsuites.tests).toBe('3');
    expect(parsed.testsuites.failures).toBe('1');
    const [suite] = parsed.testsuites.testsuite;
    expect(suite!.name).toBe('t');
    expect(suite!.testcase.map((c) => c.name)).toEqual([
      'fe reaches be',
      'fe reaches db <&> "quoted"',
      'nothing in namespace store is reachable from outside the cluster',
    ]);
    expect(suite!.testcase.map((c) => c.classname)).toEqual([
      't.reach',
      't.reach',
      't.noInternetIngress',
    ]);
    expect(suite!.testcase[0]!.failure).toBeUndefined();
    const failure = suite!.testcase[1]!.failure!;
    expect(failure.message).toMatch(/denied by policy for 1 of 1 pairs/);
    expect(failure['#text']).toMatch(/at expect\.yaml:8 spec\.expectations\[1\]/);
    expect(failure['#text']).toMatch(/isolated for ingress by NetworkPolicy store\/default-deny/);
  });

  it('writes TAP version 13 with a YAML block under the failure', async () => {
    const r = await check(STORE, mixed, '-o', 'tap');
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines.slice(0, 3)).toEqual(['TAP version 13', '1..3', 'ok 1 - fe reaches be']);
    expect(r.out).toMatch(/^not ok 2 - fe reaches db <&> "quoted"\n {2}---\n {2}message: "/m);
    expect(r.out).toMatch(/^ok 3 - nothing in namespace store/m);
    expect(r.out).toMatch(/^ {2}\.\.\.$/m);
  });

  it('writes one ConnectivityCheck document as JSON, and the same as YAML', async () => {
    const r = await check(STORE, mixed, '-o', 'json');
    expect(r.code).toBe(1);
    const d = expectDocument<{
      apiVersion: string;
      kind: string;
      summary: unknown;
      results: {
        holds: boolean;
        by: string;
        source: { field: string };
        pairs?: { explanation: unknown }[];
      }[];
    }>(r.out, 'ConnectivityCheck');
    expect(d.apiVersion).toBe('packeteye.dev/v1alpha1');
    expect(d.kind).toBe('ConnectivityCheck');
    expect(d.summary).toEqual({ total: 3, held: 2, failed: 1 });
    expect(d.results.map((x) => x.holds)).toEqual([true, false, true]);
    expect(d.results[1]!.source.field).toBe('spec.expectations[1]');
    expect(d.results[1]!.pairs![0]!.explanation).toMatchObject({
      from: 'store/fe-1',
      to: 'store/db-1',
    });
    // The document's shape is the schema's: its required keys, nothing else at the top.
    const schema = JSON.parse(
      readFileSync(
        join(import.meta.dirname, '../../schema/connectivity-check.schema.json'),
        'utf8',
      ),
    ) as { required: string[]; properties: Record<string, { items?: { properties: object } }> };
    expect(Object.keys(d).sort()).toEqual([...schema.required].sort());
    for (const x of d.results)
      for (const k of Object.keys(x))
        expect(Object.keys(schema.properties.results!.items!.properties)).toContain(k);
    const y = await check(STORE, mixed, '-o', 'yaml');
    expect(y.out).toMatch(/^apiVersion: packeteye\.dev\/v1alpha1\nkind: ConnectivityCheck\n/);
  });

  it('passes the shipped example expectations', async () => {
    const r = await check(STORE, STORE_EXPECT);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/5 expectations: 5 hold, 0 fail/);
  });
});

describe('packeteye check: bad input is exit 2, naming file, statement and field', () => {
  const BAD: { name: string; expect: string; message: RegExp[] }[] = [
    {
      name: 'an unknown pod',
      expect: doc(
        '- reach: {from: store/fe-1, to: svc/store/be:8080}\n- reach: {from: store/fe-9, to: store/db-1}',
      ),
      message: [
        /expect\.yaml:7: document 1: ConnectivityExpectations t: field spec\.expectations\[1\]\.reach\.from: error: no pod store\/fe-9/,
      ],
    },
    {
      name: 'an unknown Service port',
      expect: doc('- noReach: {from: store/fe-1, to: svc/store/db:80}'),
      message: [
        /field spec\.expectations\[0\]\.noReach\.to: error: Service store\/db has no port 80/,
        /it has TCP\/6379/,
      ],
    },
    {
      name: 'a node in a policy statement',
      expect: doc('- reach: {from: node/node-a, to: store/db-1}'),
      message: [/spec\.expectations\[0\]\.reach\.from/, /via: dataplane/],
    },
    {
      name: 'an unknown ref in a data-plane statement',
      expect: doc('- keepsClientAddress: {from: host/nobody, to: svc/store/be:8080}'),
      message: [/spec\.expectations\[0\]\.keepsClientAddress\.from: error: .*no such ExternalHost/],
    },
    {
      name: 'two statements in one entry',
      expect: doc('- reach: {from: a, to: b}\n  noReach: {from: a, to: b}'),
      message: [
        /field spec\.expectations\[0\]: error: more than one statement in one entry: reach, noReach/,
      ],
    },
    {
      name: 'an unknown statement kind',
      expect: doc('- reachable: {from: a, to: b}'),
      message: [/field spec\.expectations\[0\]\.reachable: error: unknown field "reachable"/],
    },
    {
      name: 'a bad port',
      expect: doc('- reach: {from: store/fe-1, to: store/db-1, port: TCP/99999}'),
      message: [
        /field spec\.expectations\[0\]\.reach\.port: error: port "TCP\/99999" is not PROTOCOL\/PORT/,
      ],
    },
    {
      name: 'a missing field',
      expect: doc('- reach: {from: store/fe-1}'),
      message: [/field spec\.expectations\[0\]\.reach\.to: error: to is required/],
    },
    {
      name: 'another kind of document',
      expect: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n',
      message: [
        /expect\.yaml:2: document 1: field kind: error: apiVersion "v1", kind "Pod": not an expectations document/,
      ],
    },
    {
      name: 'not YAML',
      expect: 'spec: [unclosed\n',
      message: [/expect\.yaml:\d+:\d+: document 1: error: not YAML or JSON/],
    },
  ];
  it.each(BAD)('$name', async ({ expect: e, message }) => {
    const r = await check(STORE, e);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    for (const m of message) expect(r.err).toMatch(m);
  });

  it('reports every bad ref at once', async () => {
    const r = await check(
      STORE,
      doc('- reach: {from: store/x, to: store/y}\n- noInternetIngress: {namespace: nope}'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/spec\.expectations\[0\]\.reach\.from/);
    expect(r.err).toMatch(/spec\.expectations\[0\]\.reach\.to/);
    expect(r.err).toMatch(
      /spec\.expectations\[1\]\.noInternetIngress\.namespace: error: no namespace nope/,
    );
  });

  it('names a missing expectations file', async () => {
    const io = memoryIo({ 'cluster.yaml': STORE });
    const code = await main(['check', '-f', 'cluster.yaml', '--expect', 'none.yaml'], io);
    expect(code).toBe(2);
    expect(io.stderr).toMatch(/none\.yaml: error: no such file or directory/);
  });
});
