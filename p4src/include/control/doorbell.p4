/*
 * doorbell.p4: coalesced notifications to a receiver host of which of its queues got packets
 * (docs/protocol.md section 2.3).
 *
 * For every port with a `doorbell_ports` entry (N = every_pkts, T = interval_us), each normal
 * packet leaving by (port, qid) adds one to doorbell_count[port * 8 + qid]. A DOORBELL carrying
 * that count goes out (and the count restarts) when the count reaches N or when the clock has
 * reached doorbell_next[port * 8 + qid], which each doorbell sets to now + T. So the first packet
 * after a quiet period rings at once, a burst rings every N packets, and a queue rings at most
 * once per N packets or T microseconds. At most one clone leaves a packet's egress: when it
 * carries a RESUME already, the doorbell waits for the next packet (the count keeps growing).
 *
 * The DOORBELL is an egress clone of the packet to the port's control session, sent to the
 * packet's destination MAC from switch_mac[0]. It leaves through queue 0 (clones do, on BMv2
 * too), so it follows the packets it counts, but later packets of a burst on a higher queue
 * may overtake it: a receiver must not read a doorbell as "the last packet of this count".
 */
#ifndef _SLUICE_DOORBELL_P4_
#define _SLUICE_DOORBELL_P4_

control DoorbellEgress(inout headers_t hdr, inout local_meta_t lm) {
    direct_counter(CounterType.packets_and_bytes) doorbell_ports_counter;
    register<bit<32>>(DOORBELL_SLOTS) doorbell_count;
    register<timestamp_t>(DOORBELL_SLOTS) doorbell_next;

    bit<32> every_pkts = 0;
    bit<32> interval_us = 0;

    action doorbell_enable(bit<32> every, bit<32> interval) {
        every_pkts = every;
        interval_us = interval;
    }

    action doorbell_disable() { }

    table doorbell_ports {
        key = {
            lm.egress_port : exact @name("egress_port");
        }
        actions = {
            doorbell_enable;
            @defaultonly doorbell_disable;
        }
        const default_action = doorbell_disable();
        counters = doorbell_ports_counter;
        size = DOORBELL_PORT_TABLE_SIZE;
    }

    apply {
        if (lm.is_normal == 1 && lm.bypass == 0 && lm.egress_port != CPU_PORT) {
            if (doorbell_ports.apply().hit) {
                bit<32> idx = ((bit<32>)lm.egress_port << 3) | (bit<32>)lm.qid;
                bit<32> count;
                timestamp_t next;
                doorbell_count.read(count, idx);
                doorbell_next.read(next, idx);
                count = count + 1;
                if (lm.ctrl_type == CTRL_NONE && (count >= every_pkts || lm.now_us >= next)) {
                    lm.ctrl_type = CTRL_DOORBELL;
                    lm.ctrl_count = count;
                    lm.ctrl_qid = (bit<8>)lm.qid;
                    lm.ctrl_port = (bit<16>)lm.egress_port;
                    lm.ctrl_dst_mac = hdr.ethernet.dst_addr;
                    lm.ctrl_session = CTRL_SESSION_BASE + (bit<32>)lm.egress_port;
                    count = 0;
                    doorbell_next.write(idx, lm.now_us + (timestamp_t)interval_us);
                }
                doorbell_count.write(idx, count);
            }
        }
    }
}

/* The egress pass of a doorbell clone: the frame replaces the packet. */
control DoorbellFrameEgress(inout headers_t hdr, inout local_meta_t lm) {
    counter(1, CounterType.packets) doorbells_sent;

    apply {
        if (lm.ctrl_type == CTRL_DOORBELL) {
            hdr.sluice.setValid();
            hdr.sluice.version = SLUICE_VERSION;
            hdr.sluice.msg_type = SLUICE_DOORBELL;
            hdr.sluice.flags = 0;
            hdr.sluice.length = SLUICE_DOORBELL_LEN;
            hdr.sluice.hops = 0;
            hdr.sluice.reserved = 0;
            hdr.sluice_doorbell.setValid();
            hdr.sluice_doorbell.port = lm.ctrl_port;
            hdr.sluice_doorbell.qid = lm.ctrl_qid;
            hdr.sluice_doorbell.reserved = 0;
            hdr.sluice_doorbell.count = lm.ctrl_count;
            hdr.ethernet.dst_addr = lm.ctrl_dst_mac;
            switch_mac.read(hdr.ethernet.src_addr, 0);
            hdr.ethernet.ether_type = ETHERTYPE_SLUICE;
            hdr.sluice_flow.setInvalid();
            hdr.ipv4.setInvalid();
            hdr.ipv6.setInvalid();
            hdr.tcp.setInvalid();
            hdr.udp.setInvalid();
            doorbells_sent.count(0);
        }
    }
}

#endif  /* _SLUICE_DOORBELL_P4_ */
