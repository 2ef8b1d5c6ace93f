/*
 * backpressure.p4: per-flow PAUSE and RESUME (docs/protocol.md section 2.2).
 *
 * Sending: admission.p4 decides (ctrl_type, ctrl_dst_mac, ctrl_qid, ctrl_session); the top level
 * clones the packet to control session CTRL_SESSION_BASE + p, which the controller points at
 * port p alone; here the clone's egress pass rewrites it into the frame: Ethernet to the flow's
 * source MAC from the switch's MAC (switch_mac[0]), the Sluice header, and the flow's 5-tuple
 * taken from the clone's own IP and L4 headers, which are then removed (the top level truncates
 * what followed them).
 *
 * Receiving: a PAUSE or RESUME naming a flow this switch knows (`flows` hit) that comes in by
 * the port the flow leaves by (flow_out_port) is relayed towards that flow's source: out of the
 * port the flow last came in by, to the source MAC it had there, with the RELAYED flag set and
 * `hops` incremented, through queue CTRL_QID. Where the target can pause its queues, the switch
 * also holds (PAUSE) or releases (RESUME) the flow's queue on that egress port. One from any
 * other port is dropped and counted in bp_rejected: only the flow's downstream may slow it. A
 * frame naming an unknown flow is left to L2 forwarding by its destination MAC.
 */
#ifndef _SLUICE_BACKPRESSURE_P4_
#define _SLUICE_BACKPRESSURE_P4_

/* The source MAC of the control frames this switch writes (set by the controller). */
register<mac_addr_t>(1) switch_mac;

control BackpressureIngress(inout headers_t hdr, inout local_meta_t lm) {
    /* cell = message type: 1 PAUSE, 2 RESUME */
    counter(4, CounterType.packets) bp_relayed;
    counter(4, CounterType.packets) bp_rejected;

    apply {
        if (lm.is_ctrl_flow == 1 && lm.flow_slot != 0) {
            bit<16> out_port;
            flow_out_port.read(out_port, (bit<32>)lm.flow_slot);
            if (out_port != (bit<16>)lm.ingress_port) {
                bp_rejected.count((bit<32>)hdr.sluice.msg_type);
                lm.drop = 1;
            } else {
                bit<16> in_port;
                flow_in_port.read(in_port, (bit<32>)lm.flow_slot);
                flow_src_mac.read(hdr.ethernet.dst_addr, (bit<32>)lm.flow_slot);
                switch_mac.read(hdr.ethernet.src_addr, 0);
                hdr.sluice.flags = hdr.sluice.flags | SLUICE_FLAG_RELAYED;
                hdr.sluice.hops = hdr.sluice.hops + 1;
                hdr.sluice_flow.qid = (bit<8>)lm.qid;
#ifdef SLUICE_QUEUE_PAUSE
                if (hdr.sluice.msg_type == SLUICE_PAUSE) {
                    sluice_queue_pause(lm.ingress_port, lm.qid);
                } else {
                    sluice_queue_resume(lm.ingress_port, lm.qid);
                }
#endif
                lm.out_port = (port_num_t)in_port;
                lm.qid = CTRL_QID;
                lm.drop = 0;
                lm.bypass = 1;      /* no doorbell for it */
                bp_relayed.count((bit<32>)hdr.sluice.msg_type);
            }
        }
    }
}

control BackpressureEgress(inout headers_t hdr, inout local_meta_t lm) {
    counter(4, CounterType.packets) bp_sent;   /* cell = CTRL_PAUSE or CTRL_RESUME */

    apply {
        if (lm.ctrl_type == CTRL_PAUSE || lm.ctrl_type == CTRL_RESUME) {
            hdr.sluice_flow.setValid();
            if (hdr.ipv4.isValid()) {
                hdr.sluice_flow.ip_version = 4;
                hdr.sluice_flow.protocol = hdr.ipv4.protocol;
                hdr.sluice_flow.src_addr = (ipv6_addr_t)hdr.ipv4.src_addr;
                hdr.sluice_flow.dst_addr = (ipv6_addr_t)hdr.ipv4.dst_addr;
            } else {
                hdr.sluice_flow.ip_version = 6;
                hdr.sluice_flow.protocol = hdr.ipv6.next_hdr;
                hdr.sluice_flow.src_addr = hdr.ipv6.src_addr;
                hdr.sluice_flow.dst_addr = hdr.ipv6.dst_addr;
            }
            if (hdr.tcp.isValid()) {
                hdr.sluice_flow.src_port = hdr.tcp.src_port;
                hdr.sluice_flow.dst_port = hdr.tcp.dst_port;
            } else {
                hdr.sluice_flow.src_port = hdr.udp.src_port;
                hdr.sluice_flow.dst_port = hdr.udp.dst_port;
            }
            hdr.sluice_flow.qid = lm.ctrl_qid;
            hdr.sluice_flow.reserved = 0;

            hdr.sluice.setValid();
            hdr.sluice.version = SLUICE_VERSION;
            if (lm.ctrl_type == CTRL_PAUSE) {
                hdr.sluice.msg_type = SLUICE_PAUSE;
            } else {
                hdr.sluice.msg_type = SLUICE_RESUME;
            }
            hdr.sluice.flags = 0;
            hdr.sluice.length = SLUICE_FLOW_LEN;
            hdr.sluice.hops = 0;
            hdr.sluice.reserved = 0;

            hdr.ethernet.dst_addr = lm.ctrl_dst_mac;
            switch_mac.read(hdr.ethernet.src_addr, 0);
            hdr.ethernet.ether_type = ETHERTYPE_SLUICE;
            hdr.ipv4.setInvalid();
            hdr.ipv6.setInvalid();
            hdr.tcp.setInvalid();
            hdr.udp.setInvalid();
            bp_sent.count((bit<32>)lm.ctrl_type);
        }
    }
}

#endif  /* _SLUICE_BACKPRESSURE_P4_ */
