#!/bin/sh
# netns.sh up|attach|down - wires two network namespaces through ferry-wanem's tap ports, so
# kernel TCP (iperf3) crosses the same impaired link as ferry (the baseline of issue 5):
#
#   ns wanem-a: veth-a-ns 10.99.0.1 -- veth-a -- br-wanem-a -- tap wanA = port A
#                                                                   ferry-wanem
#   ns wanem-b: veth-b-ns 10.99.0.2 -- veth-b -- br-wanem-b -- tap wanB = port B
#
# One subnet, so the emulator is a wire (ARP crosses it too). The taps stay in the root
# namespace (the tap PMD configures them there by name); bridges join them to the veths.
#   sudo benchmarks/wanem/netns.sh up
#   sudo ferry-wanem --no-huge -m 512 --file-prefix wanem-tap -l 0 \
#        --vdev net_tap0,iface=wanA --vdev net_tap1,iface=wanB -- --delay 35ms --rate 1gbit
#   sudo benchmarks/wanem/netns.sh attach        # once ferry-wanem printed its ports line
#   sudo ip netns exec wanem-b iperf3 -s -D
#   sudo ip netns exec wanem-a iperf3 -c 10.99.0.2 -t 30 -C bbr   # or -C cubic
#   sudo benchmarks/wanem/netns.sh down
# Needs root, iproute2 and the bridge and veth kernel support; ethtool (optional) turns
# off TSO/GSO/GRO on the veths so every frame the emulator sees is MTU-sized.
set -eu
case "${1:-}" in
up)
	for s in a b; do
		ip netns add "wanem-$s"
		ip link add "veth-$s" type veth peer name "veth-$s-ns"
		ip link set "veth-$s-ns" netns "wanem-$s"
		ip link add "br-wanem-$s" type bridge
		ip link set "veth-$s" master "br-wanem-$s"
		ip link set "veth-$s" up
		ip link set "br-wanem-$s" up
		ip -n "wanem-$s" link set lo up
		ip -n "wanem-$s" link set "veth-$s-ns" up
		if command -v ethtool >/dev/null; then
			ip netns exec "wanem-$s" ethtool -K "veth-$s-ns" tso off gso off gro off
		fi
	done
	ip -n wanem-a addr add 10.99.0.1/24 dev veth-a-ns
	ip -n wanem-b addr add 10.99.0.2/24 dev veth-b-ns
	;;
attach)
	ip link set wanA master br-wanem-a
	ip link set wanA up
	ip link set wanB master br-wanem-b
	ip link set wanB up
	;;
down)
	for s in a b; do
		ip netns del "wanem-$s" 2>/dev/null || true
		ip link del "br-wanem-$s" 2>/dev/null || true
		ip link del "veth-$s" 2>/dev/null || true
	done
	;;
*)
	echo "usage: $0 up|attach|down" >&2
	exit 2
	;;
esac
