/*
 * forwarding.p4: L2 by destination MAC; frames for the router's MAC are routed by IPv4 or IPv6
 * longest prefix to a next hop (port and MAC rewrite), with the TTL or hop limit decremented.
 * A packet whose TTL (hop limit) would reach zero is dropped and counted in ttl_expired
 * (cell 0 IPv4, cell 1 IPv6).
 */
#ifndef _SLUICE_FORWARDING_P4_
#define _SLUICE_FORWARDING_P4_

control ForwardingIngress(inout headers_t hdr, inout local_meta_t lm) {
    direct_counter(CounterType.packets_and_bytes) l2_counter;
    direct_counter(CounterType.packets_and_bytes) routes_v4_counter;
    direct_counter(CounterType.packets_and_bytes) routes_v6_counter;
    counter(2, CounterType.packets_and_bytes) ttl_expired;

    action l2_forward(port_num_t port) {
        lm.out_port = port;
    }

    action l2_to_router() {
        lm.routed = 1;
    }

    action l2_drop() {
        lm.drop = 1;
    }

    table l2 {
        key = {
            hdr.ethernet.dst_addr : exact @name("eth_dst");
        }
        actions = {
            l2_forward;
            l2_to_router;
            @defaultonly l2_drop;
        }
        const default_action = l2_drop();
        counters = l2_counter;
        size = L2_TABLE_SIZE;
    }

    action set_next_hop(port_num_t port, mac_addr_t dmac, mac_addr_t smac) {
        lm.out_port = port;
        hdr.ethernet.dst_addr = dmac;
        hdr.ethernet.src_addr = smac;
    }

    action route_drop() {
        lm.drop = 1;
    }

    table routes_v4 {
        key = {
            hdr.ipv4.dst_addr : lpm @name("ipv4_dst");
        }
        actions = {
            set_next_hop;
            route_drop;
        }
        const default_action = route_drop();
        counters = routes_v4_counter;
        size = ROUTE_V4_TABLE_SIZE;
    }

    table routes_v6 {
        key = {
            hdr.ipv6.dst_addr : lpm @name("ipv6_dst");
        }
        actions = {
            set_next_hop;
            route_drop;
        }
        const default_action = route_drop();
        counters = routes_v6_counter;
        size = ROUTE_V6_TABLE_SIZE;
    }

    apply {
        l2.apply();
        if (lm.routed == 1) {
            if (hdr.ipv4.isValid()) {
                if (hdr.ipv4.ttl <= 1) {
                    ttl_expired.count(0);
                    lm.drop = 1;
                } else {
                    routes_v4.apply();
                    hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                }
            } else if (hdr.ipv6.isValid()) {
                if (hdr.ipv6.hop_limit <= 1) {
                    ttl_expired.count(1);
                    lm.drop = 1;
                } else {
                    routes_v6.apply();
                    hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                }
            } else {
                lm.drop = 1;
            }
        }
    }
}

#endif  /* _SLUICE_FORWARDING_P4_ */
