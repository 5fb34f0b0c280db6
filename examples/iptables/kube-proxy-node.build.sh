#!/bin/sh
# Rebuilds kube-proxy-node.rules: sh kube-proxy-node.build.sh NETNS > kube-proxy-node.rules (as root, NETNS fresh).
# Builds the node's netfilter state the way kubelet and kube-proxy v1.31 do, in netns $NS.
set -e
NS=$1
ipt() { ip netns exec $NS iptables -w "$@"; }
# --- kubelet (pkg/kubelet/kubelet_network_linux.go syncIPTablesRules) ---
ipt -t mangle -N KUBE-IPTABLES-HINT
for t in mangle nat filter; do ipt -t $t -N KUBE-KUBELET-CANARY; done
ipt -t filter -N KUBE-FIREWALL
ipt -t filter -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" --dst 127.0.0.0/8 ! --src 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
for c in OUTPUT INPUT; do ipt -t filter -C $c -j KUBE-FIREWALL 2>/dev/null || ipt -t filter -I $c 1 -j KUBE-FIREWALL; done
# --- kube-proxy (pkg/proxy/iptables/proxier.go syncProxyRules): canaries, chains, jumps (Prepend, in list order) ---
for t in mangle nat filter; do ipt -t $t -N KUBE-PROXY-CANARY; done
for c in KUBE-EXTERNAL-SERVICES KUBE-NODEPORTS KUBE-SERVICES KUBE-FORWARD KUBE-PROXY-FIREWALL; do ipt -t filter -N $c; done
for c in KUBE-SERVICES KUBE-POSTROUTING; do ipt -t nat -N $c; done
jump() { t=$1; from=$2; to=$3; comment=$4; shift 4
  ipt -t $t -C $from "$@" -m comment --comment "$comment" -j $to 2>/dev/null || ipt -t $t -I $from 1 "$@" -m comment --comment "$comment" -j $to; }
jump filter INPUT KUBE-EXTERNAL-SERVICES "kubernetes externally-visible service portals" -m conntrack --ctstate NEW
jump filter FORWARD KUBE-EXTERNAL-SERVICES "kubernetes externally-visible service portals" -m conntrack --ctstate NEW
jump filter INPUT KUBE-NODEPORTS "kubernetes health check service ports"
jump filter FORWARD KUBE-SERVICES "kubernetes service portals" -m conntrack --ctstate NEW
jump filter OUTPUT KUBE-SERVICES "kubernetes service portals" -m conntrack --ctstate NEW
jump filter FORWARD KUBE-FORWARD "kubernetes forwarding rules"
jump filter INPUT KUBE-PROXY-FIREWALL "kubernetes load balancer firewall" -m conntrack --ctstate NEW
jump filter OUTPUT KUBE-PROXY-FIREWALL "kubernetes load balancer firewall" -m conntrack --ctstate NEW
jump filter FORWARD KUBE-PROXY-FIREWALL "kubernetes load balancer firewall" -m conntrack --ctstate NEW
jump nat OUTPUT KUBE-SERVICES "kubernetes service portals"
jump nat PREROUTING KUBE-SERVICES "kubernetes service portals"
jump nat POSTROUTING KUBE-POSTROUTING "kubernetes postrouting rules"
for c in INPUT OUTPUT; do ipt -t filter -C $c -j KUBE-FIREWALL 2>/dev/null || ipt -t filter -I $c 1 -j KUBE-FIREWALL; done
ip netns exec $NS iptables-restore -w --noflush --counters < "$(dirname "$0")/kube-proxy-node.kube-proxy.restore"
ip netns exec $NS iptables-save
