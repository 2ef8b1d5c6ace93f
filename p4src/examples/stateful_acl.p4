/*
 * A v1model switch with several tables and stateful externs: the engine benchmark's second
 * program, and a test of everything working together. Plain P4_16 and v1model only, so p4c
 * compiles it as Sluice does.
 *
 * Ingress, for IPv4 (TCP, UDP or other): count the packet on its ingress port (counter array),
 * count it for its flow (a register cell chosen by a CRC16 of the 5-tuple), run the ternary ACL
 * (deny, or permit with a queue), route by LPM (next hop port, MAC rewrite, TTL), and police
 * per ingress port (meter: red is dropped). Anything else is bridged by destination MAC (exact).
 */
#include <core.p4>
#include <v1model.p4>

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<8>  PROTO_TCP = 6;
const bit<8>  PROTO_UDP = 17;

const bit<32> L2_TABLE_SIZE = 1024;
const bit<32> ACL_TABLE_SIZE = 256;
const bit<32> ROUTE_TABLE_SIZE = 1024;
const bit<32> FLOW_SLOTS = 4096;
const bit<32> PORT_SLOTS = 512;
const bit<2>  METER_RED = 2;

typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<9>  port_t;

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      diffserv;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

// the ports at the start of a TCP or UDP header: all the 5-tuple needs
header l4_ports_t {
    bit<16> src_port;
    bit<16> dst_port;
}

struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    l4_ports_t l4;
}

struct metadata_t {
    bit<16> l4_src;
    bit<16> l4_dst;
    bit<32> flow_index;
    bit<2>  colour;
    bool    denied;
}

parser AclParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t std_meta) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            PROTO_TCP: parse_l4;
            PROTO_UDP: parse_l4;
            default: accept;
        }
    }
    state parse_l4 {
        pkt.extract(hdr.l4);
        meta.l4_src = hdr.l4.src_port;
        meta.l4_dst = hdr.l4.dst_port;
        transition accept;
    }
}

control AclVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control AclIngress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std_meta) {
    counter(PORT_SLOTS, CounterType.packets_and_bytes) ingress_port_counter;
    meter(PORT_SLOTS, MeterType.packets) ingress_port_meter;
    register<bit<32>>(FLOW_SLOTS) flow_packets;
    direct_counter(CounterType.packets) acl_counter;

    action drop() {
        mark_to_drop(std_meta);
    }

    // -- L2 -------------------------------------------------------------------------------
    action l2_forward(port_t port) {
        std_meta.egress_spec = port;
    }

    table l2_fwd {
        key = {
            hdr.ethernet.dst_addr : exact @name("eth_dst");
        }
        actions = {
            l2_forward;
            drop;
        }
        const default_action = drop();
        size = L2_TABLE_SIZE;
    }

    // -- ACL ------------------------------------------------------------------------------
    action deny() {
        meta.denied = true;
    }

    action permit() {
        meta.denied = false;
    }

    action permit_with_queue(bit<3> qid) {
        meta.denied = false;
        std_meta.priority = qid;
    }

    table acl {
        key = {
            hdr.ipv4.src_addr : ternary @name("ipv4_src");
            hdr.ipv4.dst_addr : ternary @name("ipv4_dst");
            hdr.ipv4.protocol : ternary @name("ip_proto");
            meta.l4_src       : ternary @name("l4_sport");
            meta.l4_dst       : ternary @name("l4_dport");
        }
        actions = {
            deny;
            permit;
            permit_with_queue;
        }
        default_action = permit();
        counters = acl_counter;
        size = ACL_TABLE_SIZE;
    }

    // -- routing --------------------------------------------------------------------------
    action set_next_hop(port_t port, mac_addr_t dst_mac, mac_addr_t src_mac) {
        std_meta.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }

    table ipv4_route {
        key = {
            hdr.ipv4.dst_addr : lpm @name("ipv4_dst");
        }
        actions = {
            set_next_hop;
            drop;
        }
        const default_action = drop();
        size = ROUTE_TABLE_SIZE;
    }

    apply {
        ingress_port_counter.count((bit<32>)std_meta.ingress_port);
        if (!hdr.ipv4.isValid()) {
            l2_fwd.apply();
            return;
        }
        hash(meta.flow_index, HashAlgorithm.crc16, (bit<32>)0,
             { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, hdr.ipv4.protocol,
               meta.l4_src, meta.l4_dst },
             FLOW_SLOTS);
        bit<32> seen;
        flow_packets.read(seen, meta.flow_index);
        flow_packets.write(meta.flow_index, seen + 1);
        acl.apply();
        if (meta.denied || hdr.ipv4.ttl <= 1) {
            drop();
            return;
        }
        ipv4_route.apply();
        ingress_port_meter.execute_meter((bit<32>)std_meta.ingress_port, meta.colour);
        if (meta.colour == METER_RED) {
            drop();
        }
    }
}

control AclEgress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std_meta) {
    apply { }
}

control AclComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control AclDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.l4);
    }
}

V1Switch(AclParser(), AclVerifyChecksum(), AclIngress(), AclEgress(), AclComputeChecksum(),
         AclDeparser()) main;
