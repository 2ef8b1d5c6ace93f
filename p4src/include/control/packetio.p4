/*
 * packetio.p4: frames from and to the controller through CPU_PORT (docs/protocol.md section 4).
 * A packet-out goes out of the port its header names and nothing else happens to it; a packet
 * that ingress sends to CPU_PORT gets a packet-in header with its ingress port and the reason.
 */
#ifndef _SLUICE_PACKETIO_P4_
#define _SLUICE_PACKETIO_P4_

control PacketIoIngress(inout headers_t hdr, inout local_meta_t lm) {
    apply {
        if (hdr.packet_out.isValid()) {
            lm.out_port = hdr.packet_out.egress_port;
            lm.bypass = 1;
            hdr.packet_out.setInvalid();
        }
    }
}

control PacketIoEgress(inout headers_t hdr, inout local_meta_t lm) {
    apply {
        if (lm.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = lm.ingress_port;
            hdr.packet_in._pad0 = 0;
            hdr.packet_in.reason = lm.punt_reason;
        }
    }
}

#endif  /* _SLUICE_PACKETIO_P4_ */
