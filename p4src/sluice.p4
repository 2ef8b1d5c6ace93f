/*
 * sluice.p4: the Sluice switch for v1model (BMv2 simple_switch and the embedded target).
 *
 * This file is the only place that knows v1model: it maps standard_metadata_t to the
 * architecture-neutral local_meta_t the controls share, and turns their decisions into v1model
 * calls (egress_spec, priority, mark_to_drop, clone, digest, truncate). The features live one
 * per file under include/control/; wire formats and controller-facing state are in
 * docs/protocol.md.
 *
 * Ingress order: packet-out -> flow classification -> ACL (drop and punt win over everything
 * after it) -> memory guard (its refusals win over forwarding) -> L2/L3 forwarding ->
 * PAUSE/RESUME relay -> punt -> admission. Egress: a clone becomes a control frame; a
 * packet to the CPU port gets its packet-in header; anything else is subtracted from its flow's
 * occupancy and may ring a doorbell, and at most one control frame is cloned from it.
 *
 * What a TNA top level reuses: define.p4, size.p4, header.p4 (headers, local_meta_t, digest
 * structs) and every table, key, action and their order, so the P4Runtime names and the
 * controller stay the same. The controls never touch standard_metadata_t, clone, digest,
 * mark_to_drop or truncate; they do use v1model's register, counter, direct_counter and hash,
 * which TNA spells differently (Register + RegisterAction, Counter, DirectCounter, Hash), so
 * the stateful parts of admission, backpressure, doorbell and memguard need TNA twins, and
 * parser.p4 (v1model's parser signature and checksum controls) its own TNA version.
 */
#include <core.p4>
#include <v1model.p4>
#ifdef __TARGET_SLUICE__
#include <sluice_target.p4>
#endif

#include "include/define.p4"
#include "include/size.p4"
#include "include/header.p4"
#include "include/parser.p4"
#include "include/control/flow.p4"
#include "include/control/packetio.p4"
#include "include/control/memguard.p4"
#include "include/control/forwarding.p4"
#include "include/control/backpressure.p4"
#include "include/control/acl.p4"
#include "include/control/admission.p4"
#include "include/control/doorbell.p4"

/* v1model's instance_type values for clones (BMv2 simple_switch). */
const bit<32> INSTANCE_INGRESS_CLONE = 1;
const bit<32> INSTANCE_EGRESS_CLONE = 2;

control SluiceIngress(inout headers_t hdr, inout local_meta_t lm,
                      inout standard_metadata_t std_meta) {
    PacketIoIngress() packetio;
    FlowIngress() flow;
    MemGuardIngress() memguard;
    ForwardingIngress() forwarding;
    BackpressureIngress() backpressure;
    AclIngress() acl;
    AdmissionIngress() admission;

    apply {
        lm.ingress_port = std_meta.ingress_port;
        lm.now_us = std_meta.ingress_global_timestamp;
        lm.pkt_len = std_meta.packet_length;

        if (std_meta.checksum_error == 1) {
            lm.drop = 1;
        } else {
            packetio.apply(hdr, lm);
            if (lm.bypass == 0) {
                flow.apply(hdr, lm);
                acl.apply(hdr, lm);
                if (lm.drop == 0 && lm.punt_reason == PUNT_NONE) {
                    memguard.apply(hdr, lm);
                    if (lm.mem_forwarded == 0 && lm.drop == 0) {
                        forwarding.apply(hdr, lm);
                        backpressure.apply(hdr, lm);
                    }
                }
                if (lm.punt_reason != PUNT_NONE) {
                    lm.out_port = CPU_PORT;
                }
                admission.apply(hdr, lm);
            }
        }

        std_meta.egress_spec = lm.out_port;
        std_meta.priority = lm.qid;
        if (lm.drop == 1) {
            mark_to_drop(std_meta);
        }
        if (lm.ctrl_type != CTRL_NONE) {
            clone_preserving_field_list(CloneType.I2E, lm.ctrl_session, FL_CTRL);
        }
        if (lm.digest_type == DIGEST_NEW_FLOW) {
            digest<new_flow_digest_t>(1, {
                lm.flow.ip_version, lm.flow.protocol, lm.flow.src_addr, lm.flow.dst_addr,
                lm.flow.src_port, lm.flow.dst_port, lm.ingress_port, lm.dedup_index,
                lm.dscp });
        } else if (lm.digest_type == DIGEST_MEM_EVENT) {
            digest<mem_event_digest_t>(1, {
                lm.mem_client, lm.mem_subid, lm.mem_cmd, lm.mem_args, lm.mem_paddr });
        } else if (lm.digest_type == DIGEST_MEM_DENY) {
            digest<mem_violation_digest_t>(1, {
                lm.mem_client, lm.mem_subid, lm.mem_cmd, lm.mem_paddr, lm.mem_reason,
                lm.ingress_port, lm.mem_client_index });
        }
    }
}

control SluiceEgress(inout headers_t hdr, inout local_meta_t lm,
                     inout standard_metadata_t std_meta) {
    PacketIoEgress() packetio;
    AdmissionEgress() admission;
    DoorbellEgress() doorbell;
    BackpressureEgress() backpressure_frame;
    DoorbellFrameEgress() doorbell_frame;

    apply {
        lm.egress_port = std_meta.egress_port;
        lm.now_us = std_meta.egress_global_timestamp;
        lm.is_normal = 1;
        if (std_meta.instance_type == INSTANCE_INGRESS_CLONE
            || std_meta.instance_type == INSTANCE_EGRESS_CLONE) {
            lm.is_normal = 0;
        }

        if (lm.is_normal == 0) {
            /* a clone: the control frame it was made for, trimmed to its headers */
            backpressure_frame.apply(hdr, lm);
            doorbell_frame.apply(hdr, lm);
            if (hdr.sluice_flow.isValid()) {
                truncate(SLUICE_FLOW_FRAME_LEN);
            } else if (hdr.sluice_doorbell.isValid()) {
                truncate(SLUICE_DOORBELL_FRAME_LEN);
            } else {
                mark_to_drop(std_meta);
            }
        } else if (lm.egress_port == CPU_PORT) {
            packetio.apply(hdr, lm);
        } else {
            lm.ctrl_type = CTRL_NONE;
            admission.apply(hdr, lm);
            doorbell.apply(hdr, lm);
            if (lm.ctrl_type != CTRL_NONE) {
                clone_preserving_field_list(CloneType.E2E, lm.ctrl_session, FL_CTRL);
            }
        }
    }
}

V1Switch(SluiceParser(), SluiceVerifyChecksum(), SluiceIngress(), SluiceEgress(),
         SluiceComputeChecksum(), SluiceDeparser()) main;
