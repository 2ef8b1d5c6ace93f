/*
 * flow.p4: what a packet's flow is, and what the switch knows about it.
 *
 * The flow key is the 5-tuple of a TCP or UDP packet over IPv4 or IPv6 (IPv4 addresses
 * zero-extended), or the flow a received PAUSE/RESUME names. The `flows` table gives a known
 * flow its egress queue and its slot; the slot indexes the per-flow state below, which both
 * pipelines use (ingress adds to the occupancy, egress subtracts), so it is declared at the top
 * level rather than inside a control.
 *
 * The packet's DSCP (IPv4 DSCP, IPv6 traffic class[7:2]; not part of the key, 0 for anything
 * else) goes to lm.dscp, which the new-flow digest carries so the controller's DSCP rules match.
 *
 * BlueBridge memory traffic (UDP port BB_UDP_PORT either way) is not a flow here: its IPv6
 * destination changes with every request (it carries the command and address), so each request
 * would look like a new flow. The memory guard handles it.
 */
#ifndef _SLUICE_FLOW_P4_
#define _SLUICE_FLOW_P4_

/* Per-flow state, by flow slot (docs/protocol.md section 7 lists what the controller may touch). */
register<bit<32>>(FLOW_SLOTS)   flow_occ_pkts;    /* packets admitted and not yet departed */
register<bit<32>>(FLOW_SLOTS)   flow_occ_bytes;   /* their bytes (as received) */
register<bit<1>>(FLOW_SLOTS)    flow_paused;      /* 1 between a PAUSE and its RESUME */
register<bit<16>>(FLOW_SLOTS)   flow_in_port;     /* where the flow last came in */
register<bit<16>>(FLOW_SLOTS)   flow_out_port;    /* where it last left by */
register<mac_addr_t>(FLOW_SLOTS) flow_src_mac;    /* its source MAC as received there */

control FlowIngress(inout headers_t hdr, inout local_meta_t lm) {
    direct_counter(CounterType.packets_and_bytes) flows_counter;

    action set_flow(qid_t qid, flow_slot_t slot) {
        lm.qid = qid;
        lm.flow_slot = slot;
    }

    action flow_unknown() {
        lm.qid = DEFAULT_QID;
        lm.flow_slot = 0;
    }

    /* Known flows. Entries may carry an idle timeout: the controller reclaims the slot and
     * queue of a flow that stopped. */
    table flows {
        key = {
            lm.flow.ip_version : exact @name("ip_version");
            lm.flow.src_addr   : exact @name("ip_src");
            lm.flow.dst_addr   : exact @name("ip_dst");
            lm.flow.protocol   : exact @name("ip_proto");
            lm.flow.src_port   : exact @name("l4_sport");
            lm.flow.dst_port   : exact @name("l4_dport");
        }
        actions = {
            set_flow;
            @defaultonly flow_unknown;
        }
        const default_action = flow_unknown();
        counters = flows_counter;
        support_timeout = true;
        size = FLOW_TABLE_SIZE;
    }

    apply {
        lm.eth_src = hdr.ethernet.src_addr;
        lm.eth_dst = hdr.ethernet.dst_addr;
        lm.qid = DEFAULT_QID;
        if (hdr.ipv4.isValid()) {
            lm.flow.ip_version = 4;
            lm.flow.protocol = hdr.ipv4.protocol;
            lm.flow.src_addr = (ipv6_addr_t)hdr.ipv4.src_addr;
            lm.flow.dst_addr = (ipv6_addr_t)hdr.ipv4.dst_addr;
            lm.dscp = (bit<8>)hdr.ipv4.dscp_ecn[7:2];
        } else if (hdr.ipv6.isValid()) {
            lm.flow.ip_version = 6;
            lm.flow.protocol = hdr.ipv6.next_hdr;
            lm.flow.src_addr = hdr.ipv6.src_addr;
            lm.flow.dst_addr = hdr.ipv6.dst_addr;
            lm.dscp = (bit<8>)hdr.ipv6.traffic_class[7:2];
        }
        if (hdr.tcp.isValid()) {
            lm.is_flow = 1;
            lm.flow.src_port = hdr.tcp.src_port;
            lm.flow.dst_port = hdr.tcp.dst_port;
        } else if (hdr.udp.isValid()) {
            lm.flow.src_port = hdr.udp.src_port;
            lm.flow.dst_port = hdr.udp.dst_port;
            if (hdr.udp.src_port != BB_UDP_PORT && hdr.udp.dst_port != BB_UDP_PORT) {
                lm.is_flow = 1;
            }
        } else if (hdr.sluice_flow.isValid()) {
            lm.is_ctrl_flow = 1;
            lm.flow.ip_version = hdr.sluice_flow.ip_version;
            lm.flow.protocol = hdr.sluice_flow.protocol;
            lm.flow.src_addr = hdr.sluice_flow.src_addr;
            lm.flow.dst_addr = hdr.sluice_flow.dst_addr;
            lm.flow.src_port = hdr.sluice_flow.src_port;
            lm.flow.dst_port = hdr.sluice_flow.dst_port;
        }
        if (lm.is_flow == 1 || lm.is_ctrl_flow == 1) {
            flows.apply();
        }
    }
}

#endif  /* _SLUICE_FLOW_P4_ */
