/**
 * proxy/nftables/: kube-proxy's nftables mode (`pkg/proxy/nftables/proxier.go`)
 * as a compiler into the node's `kube-proxy` nftables table — see `sync.ts`
 * for the ruleset's shape, `layout.ts` for the releases, `names.ts` for the
 * hashed chain names, `tx.ts` for the `nft -f` text.
 */
export { generateNftablesRules, KUBE_PROXY_TABLE, type NftProxyOutput } from './sync.js';
export { resolveNftLayout, type NftLayout } from './layout.js';
export { hashAndTruncate } from './names.js';
