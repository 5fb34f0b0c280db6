/**
 * The Corefile, as CoreDNS reads it (Caddyfile syntax, coredns/caddy
 * caddyfile/parse.go): server blocks `ZONE[:PORT]... { directive args... }`,
 * a directive's own `{ ... }` block, `#` comments, quoted tokens. Keys may
 * carry a scheme (`dns://`); the port defaults to 53. Environment
 * substitution and `import` snippets are not read (said in `notes`).
 *
 * `KUBEADM_COREFILE` is kubeadm's default (cmd/kubeadm/app/phases/addons/dns/
 * manifests.go `CoreDNSConfigMap`) with the cluster domain filled in.
 */

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  readonly block: readonly Directive[];
  /** 1-based line in the Corefile. */
  readonly line: number;
}

export interface ServerBlock {
  /** Fully qualified zones (`cluster.local.`, `.`). */
  readonly zones: readonly string[];
  readonly port: number;
  readonly directives: readonly Directive[];
  readonly line: number;
}

export interface Corefile {
  readonly blocks: readonly ServerBlock[];
  /** What could not be read, in words (each one a stderr note). */
  readonly notes: readonly string[];
}

export function kubeadmCorefile(domain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${domain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
}

interface Token {
  readonly text: string;
  readonly line: number;
  /** First token on its line. */
  readonly first: boolean;
  readonly quoted: boolean;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    let first = true;
    let j = 0;
    while (j < raw.length) {
      const c = raw[j]!;
      if (c === ' ' || c === '\t') {
        j++;
        continue;
      }
      if (c === '#') break;
      if (c === '"') {
        let k = j + 1;
        let s = '';
        while (k < raw.length && raw[k] !== '"') {
          if (raw[k] === '\\' && k + 1 < raw.length) k++;
          s += raw[k];
          k++;
        }
        out.push({ text: s, line: i + 1, first, quoted: true });
        first = false;
        j = k + 1;
        continue;
      }
      let k = j;
      while (k < raw.length && !/[\s#]/.test(raw[k]!)) k++;
      out.push({ text: raw.slice(j, k), line: i + 1, first, quoted: false });
      first = false;
      j = k;
    }
  });
  return out;
}

function zoneOf(key: string): { zone: string; port: number } | undefined {
  let k = key.replace(/^dns:\/\//, '');
  if (/^[a-z]+:\/\//.test(k)) return undefined;
  let port = 53;
  const m = /^(.*):(\d+)$/.exec(k);
  if (m) {
    k = m[1]!;
    port = Number(m[2]);
  }
  if (k === '') k = '.';
  const zone = k === '.' ? '.' : `${k.toLowerCase().replace(/\.$/, '')}.`;
  return { zone, port };
}

/** Parses a Corefile; never throws (what it cannot read is in `notes`). */
export function parseCorefile(text: string): Corefile {
  const toks = tokenize(text);
  const notes: string[] = [];
  const blocks: ServerBlock[] = [];
  let i = 0;
  /** Directives until the closing `}` of the current block. */
  const directives = (): Directive[] => {
    const out: Directive[] = [];
    while (i < toks.length && !(toks[i]!.text === '}' && !toks[i]!.quoted)) {
      const head = toks[i]!;
      i++;
      const args: string[] = [];
      let block: Directive[] = [];
      while (i < toks.length && !toks[i]!.first) {
        const t = toks[i]!;
        if (t.text === '}' && !t.quoted) break;
        if (t.text === '{' && !t.quoted) {
          i++;
          block = directives();
          i++; // the closing brace
          break;
        }
        args.push(t.text);
        i++;
      }
      if (head.text === '{' && !head.quoted) {
        i--;
        notes.push(`Corefile line ${head.line}: a block without a directive, skipped`);
        i++;
        directives();
        i++;
        continue;
      }
      if (head.text.startsWith('import'))
        notes.push(`Corefile line ${head.line}: import is not read`);
      if (head.text.includes('{$'))
        notes.push(`Corefile line ${head.line}: environment variables are not substituted`);
      out.push({ name: head.text, args, block, line: head.line });
    }
    return out;
  };
  while (i < toks.length) {
    const start = toks[i]!;
    const keys: string[] = [];
    while (i < toks.length && !(toks[i]!.text === '{' && !toks[i]!.quoted)) {
      keys.push(...toks[i]!.text.split(',').filter((x) => x !== ''));
      i++;
    }
    if (i >= toks.length) {
      notes.push(
        `Corefile line ${start.line}: server block ${keys.join(' ')} has no { ... }; skipped`,
      );
      break;
    }
    i++; // {
    const body = directives();
    i++; // }
    const zs = keys.map(zoneOf);
    const ok = zs.filter((z): z is { zone: string; port: number } => z !== undefined);
    if (ok.length < zs.length)
      notes.push(
        `Corefile line ${start.line}: only dns:// server blocks are modelled (tls://, https://, grpc:// are not)`,
      );
    if (ok.length === 0) continue;
    blocks.push({
      zones: ok.map((z) => z.zone),
      port: ok[0]!.port,
      directives: body,
      line: start.line,
    });
  }
  return { blocks, notes };
}
