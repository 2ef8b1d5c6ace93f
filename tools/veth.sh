#!/bin/sh
# veth pairs for PTF and the raw-socket ports (the shell twin of softswitch/ports/netns.py).
#
#   tools/veth.sh up N [--netns NAME] [--mtu BYTES]   create veth0<->veth1 ... veth(2N-2)<->veth(2N-1)
#   tools/veth.sh down [N] [--netns NAME]             delete them (all veth<1-3 digits>, or the first N pairs)
#
# Each interface: MTU 9500, IPv6 off (no DAD, router solicitations or MLD), offloads that alter
# what a packet socket sees turned off when ethtool is installed, then up. With --netns the
# pairs live in that namespace (created by "up" if missing; "down" leaves the namespace).
# Needs root and iproute2's ip.
set -eu

usage() {
    echo "usage: $0 up N [--netns NAME] [--mtu BYTES] | down [N] [--netns NAME]" >&2
    exit 2
}

die() {
    echo "$0: $*" >&2
    exit 1
}

[ $# -ge 1 ] || usage
cmd=$1
shift
count=""
netns=""
mtu=9500
while [ $# -gt 0 ]; do
    case $1 in
        --netns) [ $# -ge 2 ] || usage; netns=$2; shift 2 ;;
        --netns=*) netns=${1#--netns=}; shift ;;
        --mtu) [ $# -ge 2 ] || usage; mtu=$2; shift 2 ;;
        --mtu=*) mtu=${1#--mtu=}; shift ;;
        [0-9]*) count=$1; shift ;;
        *) usage ;;
    esac
done
case $count in *[!0-9]*) usage ;; esac
case $mtu in ''|*[!0-9]*) usage ;; esac
case $netns in *[!A-Za-z0-9_.-]*) die "bad namespace name '$netns'" ;; esac

command -v ip >/dev/null 2>&1 ||
    die "iproute2's 'ip' command is not installed (on Debian: apt-get install iproute2)"
[ "$(id -u)" -eq 0 ] || die "needs root (creating interfaces needs CAP_NET_ADMIN)"

# ip and helpers, inside the namespace when one was given.
ipn() {
    if [ -n "$netns" ]; then ip -n "$netns" "$@"; else ip "$@"; fi
}
inns() {
    if [ -n "$netns" ]; then ip netns exec "$netns" "$@"; else "$@"; fi
}

configure() {
    intf=$1
    ipn link set dev "$intf" mtu "$mtu"
    # /proc/sys/net follows the network namespace of the process reading it.
    inns sh -c "
        conf=/proc/sys/net/ipv6/conf/$intf
        [ -d \$conf ] || exit 0
        echo 0 > \$conf/accept_dad
        echo 0 > \$conf/dad_transmits
        echo 0 > \$conf/router_solicitations
        echo 1 > \$conf/disable_ipv6
    " 2>/dev/null || true
    if command -v ethtool >/dev/null 2>&1; then
        features="rx tx sg tso gso gro lro rxvlan txvlan"
        off=""
        for f in $features; do off="$off $f off"; done
        # shellcheck disable=SC2086
        if ! inns ethtool -K "$intf" $off >/dev/null 2>&1; then
            for f in $features; do inns ethtool -K "$intf" "$f" off >/dev/null 2>&1 || true; done
        fi
    fi
    ipn link set dev "$intf" up
}

exists() {
    ipn link show dev "$1" >/dev/null 2>&1
}

case $cmd in
    up)
        [ -n "$count" ] || usage
        if [ -n "$netns" ] && [ ! -e "/var/run/netns/$netns" ]; then
            ip netns add "$netns"
            ip -n "$netns" link set lo up
        fi
        i=0
        while [ "$i" -lt "$count" ]; do
            a="veth$((2 * i))"
            b="veth$((2 * i + 1))"
            if exists "$a" && exists "$b"; then
                i=$((i + 1))
                continue
            fi
            exists "$a" && ipn link del dev "$a"
            exists "$b" && ipn link del dev "$b"
            ipn link add name "$a" type veth peer name "$b"
            configure "$a"
            configure "$b"
            i=$((i + 1))
        done
        ;;
    down)
        if [ -n "$netns" ] && [ ! -e "/var/run/netns/$netns" ]; then
            exit 0
        fi
        # "5: veth0@veth1: <...>" -> veth0; only veth-type links named as "up" names them.
        for intf in $(ipn -o link show type veth | cut -d: -f2 | cut -d@ -f1); do
            case $intf in
                veth0|veth[1-9]|veth[1-9][0-9]|veth[1-9][0-9][0-9]) ;;
                *) continue ;;
            esac
            if [ -n "$count" ] && [ "${intf#veth}" -ge $((2 * count)) ]; then
                continue
            fi
            ipn link del dev "$intf" 2>/dev/null || true  # its peer may be gone already
        done
        ;;
    *) usage ;;
esac
