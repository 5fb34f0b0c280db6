import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExpectations, parsePortRef, STATEMENT_KINDS } from './expectations.js';

const schema = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '../../../schema/connectivity-expectations.schema.json'),
    'utf8',
  ),
) as {
  $defs: { statement: { properties: Record<string, unknown>; oneOf: { required: string[] }[] } };
};

describe('the ConnectivityExpectations schema', () => {
  it('names exactly the statement kinds the reader accepts', () => {
    const st = schema.$defs.statement;
    expect(st.oneOf.map((o) => o.required[0]).sort()).toEqual([...STATEMENT_KINDS].sort());
    expect(Object.keys(st.properties).sort()).toEqual(['name', ...STATEMENT_KINDS].sort());
  });
});

describe('parsePortRef', () => {
  it.each([
    ['TCP/80', { protocol: 'TCP', port: 80 }],
    ['udp/53', { protocol: 'UDP', port: 53 }],
    ['SCTP/9003', { protocol: 'SCTP', port: 9003 }],
    [8080, { protocol: 'TCP', port: 8080 }],
    ['8080', { protocol: 'TCP', port: 8080 }],
    ['ICMP/1', undefined],
    ['TCP/0', undefined],
    [65536, undefined],
    ['http', undefined],
  ])('%s', (text, want) => expect(parsePortRef(text)).toEqual(want));
});

describe('parseExpectations', () => {
  it('reads every kind with its line, document and field', () => {
    const text = `# two documents
apiVersion: packeteye.dev/v1alpha1
kind: ConnectivityExpectations
metadata: {name: a}
spec:
  expectations:
    - reach: {from: x/a, to: x/b, port: UDP/53, via: dataplane}
    - name: nothing from outside
      noInternetIngress: {namespace: x, except: [10.0.0.0/8]}
---
apiVersion: packeteye.dev/v1alpha1
kind: ConnectivityExpectations
metadata: {name: b}
spec:
  expectations:
    - keepsClientAddress: {from: host/u, to: lb/x/web:80}
    - reachOnly: {from: x/a, to: [x/b, {to: svc/x/c, port: 8080}]}
    - noReach: {from: x/a, to: x/c}
`;
    const r = parseExpectations('e.yaml', text);
    expect(r.diagnostics).toEqual([]);
    expect(r.files.map((f) => f.name)).toEqual(['a', 'b']);
    const [a, b] = r.files;
    expect(a!.statements[0]).toEqual({
      kind: 'reach',
      from: 'x/a',
      to: 'x/b',
      port: { protocol: 'UDP', port: 53 },
      via: 'dataplane',
      origin: {
        file: 'e.yaml',
        line: 7,
        document: 1,
        object: 'ConnectivityExpectations a',
        index: 0,
        field: 'spec.expectations[0]',
      },
    });
    expect(a!.statements[1]).toMatchObject({
      kind: 'noInternetIngress',
      name: 'nothing from outside',
      namespace: 'x',
      except: ['10.0.0.0/8'],
    });
    expect(b!.statements.map((s) => [s.kind, s.origin.line, s.origin.document])).toEqual([
      ['keepsClientAddress', 16, 2],
      ['reachOnly', 17, 2],
      ['noReach', 18, 2],
    ]);
    expect(b!.statements[1]).toMatchObject({
      to: [{ to: 'x/b' }, { to: 'svc/x/c', port: { protocol: 'TCP', port: 8080 } }],
    });
    expect(b!.statements[2]).toMatchObject({ via: 'policy' });
  });

  it.each([
    ['an empty file', '', 'expect-empty', undefined],
    [
      'no list',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ConnectivityExpectations\nspec: {}\n',
      'expect-no-list',
      'spec.expectations',
    ],
    [
      'a bad via',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ConnectivityExpectations\nspec:\n  expectations:\n    - reach: {from: a, to: b, via: kernel}\n',
      'expect-bad-statement',
      'spec.expectations[0].reach.via',
    ],
    [
      'a bad except',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ConnectivityExpectations\nspec:\n  expectations:\n    - noInternetIngress: {namespace: a, except: [nope]}\n',
      'expect-bad-statement',
      'spec.expectations[0].noInternetIngress.except',
    ],
    [
      'a bad destination',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ConnectivityExpectations\nspec:\n  expectations:\n    - reachOnly: {from: a, to: [{port: 80}]}\n',
      'expect-bad-statement',
      'spec.expectations[0].reachOnly.to[0]',
    ],
    [
      'a list of strings',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ConnectivityExpectations\nspec:\n  expectations: [reach]\n',
      'expect-bad-statement',
      'spec.expectations[0]',
    ],
  ])('%s is an error at its field', (_name, text, code, field) => {
    const r = parseExpectations('e.yaml', text);
    expect(r.files.flatMap((f) => f.statements)).toEqual([]);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({
      code,
      severity: 'error',
      file: 'e.yaml',
      ...(field ? { field } : {}),
    });
  });
});
