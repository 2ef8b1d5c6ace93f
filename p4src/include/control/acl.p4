/*
 * acl.p4: a ternary ACL over the frame as received and its flow key, applied before the memory
 * guard and forwarding: permit (carry on), drop, or punt (to the controller with reason
 * PUNT_ACL, untouched). A drop or a punt wins over everything after it. IP addresses are the
 * flow key's: IPv4 zero-extended to 128 bits, so one table serves both families (match eth_type
 * to tell them apart).
 */
#ifndef _SLUICE_ACL_P4_
#define _SLUICE_ACL_P4_

control AclIngress(inout headers_t hdr, inout local_meta_t lm) {
    direct_counter(CounterType.packets_and_bytes) acl_counter;

    action acl_permit() { }

    action acl_drop() {
        lm.drop = 1;
    }

    action acl_punt() {
        lm.punt_reason = PUNT_ACL;
    }

    table acl {
        key = {
            lm.ingress_port       : ternary @name("ingress_port");
            lm.eth_dst            : ternary @name("eth_dst");
            lm.eth_src            : ternary @name("eth_src");
            hdr.ethernet.ether_type : ternary @name("eth_type");
            lm.flow.protocol      : ternary @name("ip_proto");
            lm.flow.src_addr      : ternary @name("ip_src");
            lm.flow.dst_addr      : ternary @name("ip_dst");
            lm.flow.src_port      : ternary @name("l4_sport");
            lm.flow.dst_port      : ternary @name("l4_dport");
        }
        actions = {
            acl_permit;
            acl_drop;
            acl_punt;
        }
        const default_action = acl_permit();
        counters = acl_counter;
        size = ACL_TABLE_SIZE;
    }

    apply {
        acl.apply();
    }
}

#endif  /* _SLUICE_ACL_P4_ */
