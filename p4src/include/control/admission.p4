/*
 * admission.p4: per-flow queue admission (DPFQ).
 *
 * Ingress, for a TCP/UDP packet that is about to be forwarded (not dropped, not punted):
 *  - unknown flow (no `flows` entry): it uses DEFAULT_QID, and the controller gets one
 *    new_flow digest for it. flow_dedup, a bitmap indexed by a CRC32 of the 5-tuple, remembers
 *    that the digest went out, so a burst yields one digest; the controller clears the bit (the
 *    digest carries its index) once it has installed the flow, or to be told again.
 *  - known flow: its queue class (= its queue) gives the watermarks. With `occ` packets of the
 *    flow already in the switch: occ >= cap drops the packet and counts it in flow_cap_drops
 *    (by slot); otherwise it is admitted, occ + 1 and the bytes are added, and if occ + 1 reaches
 *    the high-water mark while the flow is not paused, the flow becomes paused and ingress asks
 *    for one PAUSE (a clone to the ingress port's control session, see backpressure.p4).
 * Egress, for an admitted packet leaving: subtract it; if the flow is paused and its occupancy
 * is now below the low-water mark, it is no longer paused and egress asks for one RESUME (a
 * clone to the control session of the port the flow comes in by).
 *
 * Packets the traffic manager tail-drops after admission are never subtracted: the controller
 * keeps each queue deeper than the sum of the caps of the flows that share it.
 */
#ifndef _SLUICE_ADMISSION_P4_
#define _SLUICE_ADMISSION_P4_

control AdmissionIngress(inout headers_t hdr, inout local_meta_t lm) {
    direct_counter(CounterType.packets_and_bytes) queue_classes_counter;
    counter(FLOW_SLOTS, CounterType.packets_and_bytes) flow_cap_drops;
    register<bit<1>>(FLOW_DEDUP_SLOTS) flow_dedup;

    action set_watermarks(bit<32> high_pkts, bit<32> low_pkts, bit<32> cap_pkts) {
        lm.wm_high = high_pkts;
        lm.wm_low = low_pkts;
        lm.wm_cap = cap_pkts;
    }

    /* No backpressure and no cap: occupancy is still counted. */
    action no_watermarks() {
        lm.wm_high = 0xFFFFFFFF;
        lm.wm_low = 0;
        lm.wm_cap = 0xFFFFFFFF;
    }

    table queue_classes {
        key = {
            lm.qid : exact @name("qid");
        }
        actions = {
            set_watermarks;
            @defaultonly no_watermarks;
        }
        const default_action = no_watermarks();
        counters = queue_classes_counter;
        size = QUEUE_CLASS_TABLE_SIZE;
    }

    apply {
        if (lm.is_flow == 1 && lm.drop == 0 && lm.out_port != CPU_PORT) {
            if (lm.flow_slot == 0) {
                hash(lm.dedup_index, HashAlgorithm.crc32, 32w0,
                     { lm.flow.ip_version, lm.flow.protocol, lm.flow.src_addr, lm.flow.dst_addr,
                       lm.flow.src_port, lm.flow.dst_port },
                     (bit<32>)FLOW_DEDUP_SLOTS);
                bit<1> seen;
                flow_dedup.read(seen, lm.dedup_index);
                if (seen == 0) {
                    flow_dedup.write(lm.dedup_index, 1);
                    lm.digest_type = DIGEST_NEW_FLOW;
                }
            } else {
                queue_classes.apply();
                bit<32> occ;
                flow_occ_pkts.read(occ, (bit<32>)lm.flow_slot);
                if (occ >= lm.wm_cap) {
                    flow_cap_drops.count((bit<32>)lm.flow_slot);
                    lm.drop = 1;
                    lm.flow_slot = 0;   /* nothing to subtract in egress */
                } else {
                    flow_occ_pkts.write((bit<32>)lm.flow_slot, occ + 1);
                    bit<32> occ_bytes;
                    flow_occ_bytes.read(occ_bytes, (bit<32>)lm.flow_slot);
                    flow_occ_bytes.write((bit<32>)lm.flow_slot, occ_bytes + lm.pkt_len);
                    flow_in_port.write((bit<32>)lm.flow_slot, (bit<16>)lm.ingress_port);
                    flow_out_port.write((bit<32>)lm.flow_slot, (bit<16>)lm.out_port);
                    flow_src_mac.write((bit<32>)lm.flow_slot, lm.eth_src);
                    bit<1> paused;
                    flow_paused.read(paused, (bit<32>)lm.flow_slot);
                    if (paused == 0 && occ + 1 >= lm.wm_high) {
                        flow_paused.write((bit<32>)lm.flow_slot, 1);
                        lm.ctrl_type = CTRL_PAUSE;
                        lm.ctrl_dst_mac = lm.eth_src;
                        lm.ctrl_qid = (bit<8>)lm.qid;
                        lm.ctrl_session = CTRL_SESSION_BASE + (bit<32>)lm.ingress_port;
                    }
                }
            }
        } else {
            lm.flow_slot = 0;   /* not admitted here: egress must not subtract it */
        }
    }
}

control AdmissionEgress(inout headers_t hdr, inout local_meta_t lm) {
    apply {
        if (lm.is_normal == 1 && lm.flow_slot != 0) {
            bit<32> occ;
            bit<32> occ_bytes;
            flow_occ_pkts.read(occ, (bit<32>)lm.flow_slot);
            flow_occ_bytes.read(occ_bytes, (bit<32>)lm.flow_slot);
            /* never below zero, even if the controller reset the registers meanwhile */
            if (occ > 0) {
                occ = occ - 1;
            }
            if (occ_bytes > lm.pkt_len) {
                occ_bytes = occ_bytes - lm.pkt_len;
            } else {
                occ_bytes = 0;
            }
            flow_occ_pkts.write((bit<32>)lm.flow_slot, occ);
            flow_occ_bytes.write((bit<32>)lm.flow_slot, occ_bytes);
            bit<1> paused;
            flow_paused.read(paused, (bit<32>)lm.flow_slot);
            if (paused == 1 && occ < lm.wm_low) {
                flow_paused.write((bit<32>)lm.flow_slot, 0);
                bit<16> in_port;
                flow_in_port.read(in_port, (bit<32>)lm.flow_slot);
                flow_src_mac.read(lm.ctrl_dst_mac, (bit<32>)lm.flow_slot);
                lm.ctrl_type = CTRL_RESUME;
                lm.ctrl_qid = (bit<8>)lm.qid;
                lm.ctrl_session = CTRL_SESSION_BASE + (bit<32>)in_port;
            }
        }
    }
}

#endif  /* _SLUICE_ADMISSION_P4_ */
