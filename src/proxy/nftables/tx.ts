/**
 * The objects of kube-proxy's `kube-proxy` table as one sync leaves them,
 * written the way knftables writes them (`add table|chain|set|map|rule|element
 * FAMILY kube-proxy …`, one object per line). `dump()` gives the whole table
 * as an `nft -f` script in knftables' `Fake.Dump` order: the table, its
 * chains, sets and maps (each sorted by name), then every chain's rules and
 * every set's and map's elements — so rules only refer to objects already
 * added, and `nft -f` loads it into an empty table.
 */

export interface NftChainSpec {
  readonly type: 'filter' | 'nat';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly priority: number;
}

interface ChainObj {
  readonly spec?: NftChainSpec;
  readonly comment?: string;
  readonly rules: string[];
}

/** One table's objects; `family` is `ip` or `ip6`. */
export class NftTransaction {
  readonly chains = new Map<string, ChainObj>();
  /** Set and map declarations: name -> `{ … }` body. */
  private readonly sets = new Map<string, string>();
  private readonly maps = new Map<string, string>();
  private readonly elements = new Map<string, string[]>();

  constructor(
    readonly family: 'ip' | 'ip6',
    readonly table: string,
    readonly comment: string,
  ) {}

  /** `ensureChain`: adds the chain once (a later add of the same chain keeps its rules). */
  chain(name: string, opts: { spec?: NftChainSpec; comment?: string } = {}): void {
    if (this.chains.has(name)) return;
    this.chains.set(name, { ...opts, rules: [] });
  }

  rule(chain: string, rule: string, comment?: string): void {
    const c = this.chains.get(chain);
    if (!c) throw new Error(`kube-proxy nftables writer: rule in unknown chain ${chain}`);
    c.rules.push(comment === undefined ? rule : `${rule} comment "${comment}"`);
  }

  set(name: string, body: string): void {
    this.sets.set(name, body);
    if (!this.elements.has(name)) this.elements.set(name, []);
  }

  map(name: string, body: string): void {
    this.maps.set(name, body);
    if (!this.elements.has(name)) this.elements.set(name, []);
  }

  /** `delete set` after `add set`: the set does not exist when the transaction ends. */
  deleteSet(name: string): void {
    this.sets.delete(name);
    this.elements.delete(name);
  }

  /** An element: its key (` . `-joined), optional comment and verdict (maps). */
  element(container: string, key: readonly string[], value?: string, comment?: string): void {
    const list = this.elements.get(container);
    if (!list) throw new Error(`kube-proxy nftables writer: element in unknown set ${container}`);
    let body = key.join(' . ');
    if (comment !== undefined) body += ` comment "${comment}"`;
    if (value !== undefined) body += ` : ${value}`;
    list.push(body);
  }

  dump(): string {
    const p = `${this.family} ${this.table}`;
    const out: string[] = [`add table ${p} { comment "${this.comment}" ; }`];
    const chains = [...this.chains.keys()].sort();
    for (const name of chains) {
      const c = this.chains.get(name)!;
      const parts: string[] = [];
      if (c.spec)
        parts.push(`type ${c.spec.type} hook ${c.spec.hook} priority ${c.spec.priority} ;`);
      if (c.comment !== undefined) parts.push(`comment "${c.comment}" ;`);
      out.push(`add chain ${p} ${name}${parts.length > 0 ? ` { ${parts.join(' ')} }` : ''}`);
    }
    for (const name of [...this.sets.keys()].sort())
      out.push(`add set ${p} ${name} ${this.sets.get(name)}`);
    for (const name of [...this.maps.keys()].sort())
      out.push(`add map ${p} ${name} ${this.maps.get(name)}`);
    for (const name of chains) {
      for (const r of this.chains.get(name)!.rules) out.push(`add rule ${p} ${name} ${r}`);
    }
    for (const name of [...this.elements.keys()].sort()) {
      for (const e of this.elements.get(name)!) out.push(`add element ${p} ${name} { ${e} }`);
    }
    return out.map((l) => `${l}\n`).join('');
  }
}
