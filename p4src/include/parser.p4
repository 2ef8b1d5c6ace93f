/*
 * parser.p4: the v1model parser, checksum controls and deparser. The header order and the
 * select values are Sluice's; only the signatures (standard_metadata_t, the checksum externs)
 * are v1model's, so a TNA top level writes its own parser around the same states.
 */
#ifndef _SLUICE_PARSER_P4_
#define _SLUICE_PARSER_P4_

parser SluiceParser(packet_in pkt, out headers_t hdr, inout local_meta_t lm,
                    inout standard_metadata_t std_meta) {
    state start {
        transition select(std_meta.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            ETHERTYPE_SLUICE: parse_sluice;
            default: accept;
        }
    }

    state parse_sluice {
        pkt.extract(hdr.sluice);
        transition select(hdr.sluice.version, hdr.sluice.msg_type) {
            (SLUICE_VERSION, SLUICE_PAUSE): parse_sluice_flow;
            (SLUICE_VERSION, SLUICE_RESUME): parse_sluice_flow;
            (SLUICE_VERSION, SLUICE_DOORBELL): parse_sluice_doorbell;
            default: accept;
        }
    }

    state parse_sluice_flow {
        pkt.extract(hdr.sluice_flow);
        transition accept;
    }

    state parse_sluice_doorbell {
        pkt.extract(hdr.sluice_doorbell);
        transition accept;
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        /* L4 only without options and in the first fragment */
        transition select(hdr.ipv4.ihl, hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (5, 0, IP_PROTO_TCP): parse_tcp;
            (5, 0, IP_PROTO_UDP): parse_udp;
            default: accept;
        }
    }

    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        transition select(hdr.ipv6.next_hdr) {
            IP_PROTO_TCP: parse_tcp;
            IP_PROTO_UDP: parse_udp;
            default: accept;
        }
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        transition accept;
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        transition accept;
    }
}

control SluiceVerifyChecksum(inout headers_t hdr, inout local_meta_t lm) {
    apply {
        verify_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control SluiceComputeChecksum(inout headers_t hdr, inout local_meta_t lm) {
    apply {
        update_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control SluiceDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.sluice);
        pkt.emit(hdr.sluice_flow);
        pkt.emit(hdr.sluice_doorbell);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv6);
        pkt.emit(hdr.tcp);
        pkt.emit(hdr.udp);
    }
}

#endif  /* _SLUICE_PARSER_P4_ */
