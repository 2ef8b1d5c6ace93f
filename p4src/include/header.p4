/*
 * header.p4: every header Sluice parses or emits, the architecture-neutral metadata its controls
 * share, and the digest layouts. Wire formats: docs/protocol.md (the section named beside each
 * header). All headers are whole bytes.
 */
#ifndef _SLUICE_HEADER_P4_
#define _SLUICE_HEADER_P4_

#include "define.p4"

/* Controller headers (protocol.md section 4): in front of the Ethernet header on the CPU port. */
@controller_header("packet_out")
header packet_out_t {
    port_num_t egress_port;      /* send the frame out of this port, untouched */
    @padding bit<7> _pad0;       /* 0; a P4Runtime client may leave it out */
}

@controller_header("packet_in")
header packet_in_t {
    port_num_t ingress_port;     /* where the frame came in */
    @padding bit<7> _pad0;       /* 0; a P4Runtime client may leave it out */
    bit<8>     reason;           /* PUNT_* */
}

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      dscp_ecn;
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

header ipv6_t {
    bit<4>      version;
    bit<8>      traffic_class;
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

header tcp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  res;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> len;
    bit<16> checksum;
}

/* Sluice control frame, common header (protocol.md section 2.1). */
header sluice_t {
    bit<4>  version;
    bit<4>  msg_type;
    bit<8>  flags;
    bit<16> length;              /* bytes of the body that follows */
    bit<8>  hops;                /* relays so far */
    bit<8>  reserved;
}

/* PAUSE and RESUME body: the flow, in the direction its sender sends it (section 2.2). */
header sluice_flow_t {
    bit<8>      ip_version;      /* 4 or 6 */
    bit<8>      protocol;        /* 6 TCP, 17 UDP */
    bit<16>     src_port;
    bit<16>     dst_port;
    bit<8>      qid;             /* queue the flow holds at the switch that wrote the frame */
    bit<8>      reserved;
    ipv6_addr_t src_addr;        /* IPv4: the address in the low 32 bits, the rest zero */
    ipv6_addr_t dst_addr;
}

/* DOORBELL body (section 2.3). */
header sluice_doorbell_t {
    bit<16> port;                /* the switch port the packets left by */
    bit<8>  qid;                 /* the queue they came through */
    bit<8>  reserved;
    bit<32> count;               /* packets through (port, qid) since the previous doorbell */
}

struct headers_t {
    packet_out_t      packet_out;
    packet_in_t       packet_in;
    ethernet_t        ethernet;
    sluice_t          sluice;
    sluice_flow_t     sluice_flow;
    sluice_doorbell_t sluice_doorbell;
    ipv4_t            ipv4;
    ipv6_t            ipv6;
    tcp_t             tcp;
    udp_t             udp;
}

/* A flow: the 5-tuple, IPv4 addresses zero-extended to 128 bits. */
struct flow_key_t {
    bit<8>      ip_version;
    bit<8>      protocol;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
    bit<16>     src_port;
    bit<16>     dst_port;
}

/*
 * What the controls share, whatever the architecture: the top level fills the "from the
 * architecture" part from its intrinsic metadata and applies the "decisions" part (drop, egress
 * port, queue, clone, digest) with its own externs. On v1model it is the user metadata itself,
 * so the fields a control frame needs in egress carry @field_list(FL_CTRL) across a clone.
 */
struct local_meta_t {
    /* from the architecture */
    port_num_t  ingress_port;
    port_num_t  egress_port;     /* egress: the port the packet leaves by */
    timestamp_t now_us;
    bit<32>     pkt_len;
    bit<1>      is_normal;       /* egress: not a clone (control frames are clones) */

    /* ingress decisions */
    port_num_t  out_port;        /* where ingress sends it */
    bit<1>      drop;
    bit<1>      bypass;          /* packet-out, relayed control frame: no further processing */
    bit<1>      routed;          /* L2 said "to the router": look up the routes */
    bit<1>      mem_forwarded;   /* the memory guard chose the port already */
    bit<8>      punt_reason;     /* to the CPU port with this reason when not PUNT_NONE */
    qid_t       qid;
    bit<8>      digest_type;     /* DIGEST_* */

    /* the flow (admission, backpressure) */
    mac_addr_t  eth_src;         /* the MACs as received (forwarding may rewrite them) */
    mac_addr_t  eth_dst;
    bit<1>      is_flow;         /* TCP or UDP over IP, not memory traffic: admission applies */
    bit<1>      is_ctrl_flow;    /* a PAUSE or RESUME: lm.flow is the flow it names */
    flow_key_t  flow;
    bit<8>      dscp;            /* the packet's DSCP, 0..63 (flow.p4), for the digest */
    flow_slot_t flow_slot;       /* 0: unknown or not admitted: nothing for egress to subtract */
    bit<32>     wm_high;         /* watermarks of the flow's queue class, in packets */
    bit<32>     wm_low;
    bit<32>     wm_cap;
    bit<32>     dedup_index;

    /* what a clone becomes in egress (backpressure, doorbell) */
    @field_list(FL_CTRL) bit<8>      ctrl_type;
    @field_list(FL_CTRL) mac_addr_t  ctrl_dst_mac;
    @field_list(FL_CTRL) bit<8>      ctrl_qid;
    @field_list(FL_CTRL) bit<16>     ctrl_port;
    @field_list(FL_CTRL) bit<32>     ctrl_count;
    bit<32>     ctrl_session;

    /* the memory guard */
    bit<16>     mem_subid;
    bit<16>     mem_cmd;
    bit<32>     mem_args;
    bit<64>     mem_paddr;
    ipv6_addr_t mem_client;
    bit<8>      mem_reason;      /* MEM_* */
    bit<32>     mem_client_index;
    bit<8>      mem_perms;
    bit<1>      mem_alloc_ok;
    bit<1>      mem_server_known;
    port_num_t  mem_server_port;
    mac_addr_t  mem_server_dmac;
    mac_addr_t  mem_server_smac;
}

/* Digests (protocol.md section 6). */
struct new_flow_digest_t {
    bit<8>      ip_version;
    bit<8>      protocol;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
    bit<16>     src_port;
    bit<16>     dst_port;
    port_num_t  ingress_port;
    bit<32>     dedup_index;     /* the bit to clear in flow_dedup once the flow has its entry */
    bit<8>      dscp;            /* the reported packet's DSCP, 0..63 (the top two bits are 0) */
}

struct mem_event_digest_t {
    ipv6_addr_t client;          /* the reply's destination */
    bit<16>     subid;
    bit<16>     cmd;             /* BB_ALLOC, BB_ALLOC_BULK or BB_FREE */
    bit<32>     args;            /* ALLOC: bytes allocated (0 = failed) */
    bit<64>     paddr;           /* start of the region */
}

struct mem_violation_digest_t {
    ipv6_addr_t client;
    bit<16>     subid;
    bit<16>     cmd;
    bit<64>     paddr;
    bit<8>      reason;          /* MEM_* */
    port_num_t  ingress_port;
    bit<32>     client_index;    /* cell of mem_violations counting this client */
}

#endif  /* _SLUICE_HEADER_P4_ */
