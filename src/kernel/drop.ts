/**
 * Every fate a packet can meet in the kernel model has a name from this
 * closed set. A drop is an outcome the stack reports with a step, never an
 * exception. Descriptions say where in Linux the same packet dies.
 */

export const DROP_REASONS = {
  'no-route': 'no route to the destination (fib_lookup: -ENETUNREACH)',
  'route-blackhole': 'a blackhole route matched (RTN_BLACKHOLE, silently discarded)',
  'route-unreachable': 'an unreachable route matched (RTN_UNREACHABLE, ICMP host unreachable)',
  'route-prohibit': 'a prohibit route matched (RTN_PROHIBIT, ICMP administratively prohibited)',
  'ip-forward-disabled':
    'not for this host and forwarding is off on the receiving device (ip_route_input_slow)',
  'rp-filter':
    'reverse path filter: the source is not reachable back through the receiving device (fib_validate_source)',
  'martian-source':
    'martian source address (ip_route_input_slow: 0.0.0.0, 127/8 without route_localnet, multicast, broadcast, or a local address)',
  'martian-destination': 'martian destination address (0.0.0.0, or 127/8 without route_localnet)',
  'multicast-not-joined':
    'multicast to a group the receiving device has not joined, and no multicast routing (ip_route_input_rcu: ip_check_mc_rcu fails, -EINVAL)',
  'netfilter-drop': 'a netfilter rule or chain policy dropped it',
  'netfilter-reject':
    'a netfilter REJECT rule refused it; the kernel answers with an ICMP error or TCP RST',
  'netfilter-unsupported': 'netfilter met a rule it cannot evaluate (reported, never guessed)',
  'ttl-exceeded': 'TTL reached zero while forwarding (ip_forward: ICMP time exceeded)',
  'frag-needed': 'larger than the next link MTU with DF set (ICMP fragmentation needed / EMSGSIZE)',
  'arp-failed': 'the next hop never answered ARP (neighbour FAILED)',
  'no-listener':
    'no socket listens on the destination port (answered with TCP RST or ICMP port unreachable)',
  'hairpin-off':
    'the bridge would send the frame back out the port it came in on, and hairpin mode is off',
  'link-down': 'the device (or its carrier) is down',
  'not-for-us': 'the frame was addressed to another host at layer 2 (PACKET_OTHERHOST)',
  'source-not-local':
    'a locally generated packet names a source address this host does not have (EINVAL)',
  'device-discard': 'the device discards everything it transmits (dummy)',
  'no-bridge-port': 'the bridge has no port to send the frame to',
  'arp-ignored': 'the ARP packet was not for this host and not proxied',
  'loop-limit':
    'the simulation stopped a frame storm (more frames than the network can carry in one run)',
  'vxlan-no-fdb':
    'a VXLAN device has no FDB entry for the inner destination MAC and no default destination (vxlan_xmit drops it)',
  'vxlan-unknown-vni':
    'a VXLAN datagram names a VNI no device of this host has (vxlan_rcv drops it)',
  'vpc-firewall':
    'the cloud VPC firewall denied it (no ingress allow rule matched; the implied rule denies all ingress)',
  'vpc-no-nat':
    "the cloud's 1:1 NAT translates only an instance's own (node) IP to its external IP; any other source or destination is dropped at the VPC edge",
  'lb-no-forwarding-rule':
    'the cloud load balancer has no forwarding rule for this protocol and port',
  'vpp-error-drop':
    "FD.io VPP's graph sent it to error-drop (an ACL deny, no route, no NAT44 translation…; the step names the graph node)",
  unsupported: 'the model does not cover this case (reported, never guessed)',
} as const;

export type DropReason = keyof typeof DROP_REASONS;

export function describeDrop(reason: DropReason): string {
  return DROP_REASONS[reason];
}
