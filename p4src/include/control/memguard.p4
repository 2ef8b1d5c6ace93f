/*
 * memguard.p4: remote-memory protection for BlueBridge (docs/protocol.md section 5).
 *
 * A request is IPv6/UDP to port BB_UDP_PORT; its IPv6 destination is subid:16 | cmd:16 |
 * args:32 | paddr:64 and its IPv6 source is the client. It is forwarded to the memory server
 * `subid` names (`mem_servers`: port and MAC rewrite, hop limit decremented) only if:
 *  - READ, READ_BULK:   the client holds PERM_READ on the region holding paddr (`mem_acl`);
 *  - WRITE, WRITE_BULK: PERM_WRITE there, and no other client holds the page's write lease;
 *                       the writer then holds (or renews) the lease for mem_config[0] us;
 *  - FREE, TRIM:        PERM_OWNER there;
 *  - ALLOC, ALLOC_BULK: the client may allocate on that server (`mem_alloc_acl`).
 * A reply is IPv6/UDP from port BB_UDP_PORT with the same layout in its source address. It is
 * routed like any packet, but only from the port of the server its subid names (else it is a
 * spoofed reply and refused); replies to ALLOC, ALLOC_BULK and FREE produce a mem_event digest
 * so the controller grants the new owner or revokes the freed region.
 *
 * A refused packet is dropped, never forwarded, counted in mem_violations at the client's cell
 * (CRC32 of the client address mod MEM_CLIENT_SLOTS) and reported in a mem_violation digest at
 * most once per mem_config[1] us per cell.
 *
 * Write lease: one per (subid, 4 KiB page of paddr), in mem_lease_holder/mem_lease_expiry at
 * CRC32(subid, paddr >> 12) mod MEM_LEASE_SLOTS. A WRITE_BULK takes the lease of its first page.
 */
#ifndef _SLUICE_MEMGUARD_P4_
#define _SLUICE_MEMGUARD_P4_

control MemGuardIngress(inout headers_t hdr, inout local_meta_t lm) {
    direct_counter(CounterType.packets_and_bytes) mem_servers_counter;
    direct_counter(CounterType.packets_and_bytes) mem_acl_counter;
    direct_counter(CounterType.packets_and_bytes) mem_alloc_acl_counter;
    counter(MEM_CLIENT_SLOTS, CounterType.packets_and_bytes) mem_violations;
    register<timestamp_t>(MEM_CLIENT_SLOTS) mem_report_next;
    register<ipv6_addr_t>(MEM_LEASE_SLOTS) mem_lease_holder;
    register<timestamp_t>(MEM_LEASE_SLOTS) mem_lease_expiry;
    /* [0] write lease length, [1] report interval, in us; 0 = the compile-time default */
    register<bit<32>>(2) mem_config;

    action mem_server(port_num_t port, mac_addr_t dmac, mac_addr_t smac) {
        lm.mem_server_known = 1;
        lm.mem_server_port = port;
        lm.mem_server_dmac = dmac;
        lm.mem_server_smac = smac;
    }

    action mem_no_server() {
        lm.mem_server_known = 0;
    }

    table mem_servers {
        key = {
            lm.mem_subid : exact @name("subid");
        }
        actions = {
            mem_server;
            @defaultonly mem_no_server;
        }
        const default_action = mem_no_server();
        counters = mem_servers_counter;
        size = MEM_SERVER_TABLE_SIZE;
    }

    action mem_grant(bit<8> perms) {
        lm.mem_perms = perms;
    }

    action mem_no_grant() {
        lm.mem_perms = 0;
    }

    /* Grants: client (ternary: one host or a prefix), server, region [lo, hi] -> permissions.
     * Overlapping grants: the entry with the highest priority decides. */
    table mem_acl {
        key = {
            lm.mem_client : ternary @name("client");
            lm.mem_subid  : exact @name("subid");
            lm.mem_paddr  : range @name("paddr");
        }
        actions = {
            mem_grant;
            @defaultonly mem_no_grant;
        }
        const default_action = mem_no_grant();
        counters = mem_acl_counter;
        size = MEM_ACL_TABLE_SIZE;
    }

    action mem_allow_alloc() {
        lm.mem_alloc_ok = 1;
    }

    action mem_deny_alloc() {
        lm.mem_alloc_ok = 0;
    }

    table mem_alloc_acl {
        key = {
            lm.mem_client : ternary @name("client");
            lm.mem_subid  : ternary @name("subid");
        }
        actions = {
            mem_allow_alloc;
            mem_deny_alloc;
        }
        const default_action = mem_deny_alloc();
        counters = mem_alloc_acl_counter;
        size = MEM_ALLOC_TABLE_SIZE;
    }

    apply {
        bit<1> is_request = 0;
        bit<1> is_reply = 0;
        if (hdr.ipv6.isValid() && hdr.udp.isValid()) {
            if (hdr.udp.dst_port == BB_UDP_PORT) {
                is_request = 1;
                lm.mem_client = hdr.ipv6.src_addr;
                lm.mem_subid = hdr.ipv6.dst_addr[127:112];
                lm.mem_cmd = hdr.ipv6.dst_addr[111:96];
                lm.mem_args = hdr.ipv6.dst_addr[95:64];
                lm.mem_paddr = hdr.ipv6.dst_addr[63:0];
            } else if (hdr.udp.src_port == BB_UDP_PORT) {
                is_reply = 1;
                lm.mem_client = hdr.ipv6.dst_addr;
                lm.mem_subid = hdr.ipv6.src_addr[127:112];
                lm.mem_cmd = hdr.ipv6.src_addr[111:96];
                lm.mem_args = hdr.ipv6.src_addr[95:64];
                lm.mem_paddr = hdr.ipv6.src_addr[63:0];
            }
        }
        if (is_request == 1 || is_reply == 1) {
            mem_servers.apply();
            hash(lm.mem_client_index, HashAlgorithm.crc32, 32w0, { lm.mem_client },
                 (bit<32>)MEM_CLIENT_SLOTS);
        }

        if (is_request == 1) {
            if (lm.mem_server_known == 0) {
                lm.mem_reason = MEM_NO_SERVER;
            } else if (lm.mem_cmd == BB_ALLOC || lm.mem_cmd == BB_ALLOC_BULK) {
                mem_alloc_acl.apply();
                if (lm.mem_alloc_ok == 0) {
                    lm.mem_reason = MEM_NO_ALLOC;
                }
            } else if (lm.mem_cmd >= BB_WRITE && lm.mem_cmd <= BB_TRIM) {
                mem_acl.apply();
                if (lm.mem_cmd == BB_READ || lm.mem_cmd == BB_READ_BULK) {
                    if ((lm.mem_perms & PERM_READ) == 0) {
                        lm.mem_reason = MEM_NO_READ;
                    }
                } else if (lm.mem_cmd == BB_WRITE || lm.mem_cmd == BB_WRITE_BULK) {
                    if ((lm.mem_perms & PERM_WRITE) == 0) {
                        lm.mem_reason = MEM_NO_WRITE;
                    } else {
                        /* hash over fields only: p4c-bm2-ss wants field references */
                        bit<64> page = lm.mem_paddr >> BB_PAGE_SHIFT;
                        bit<32> lease_idx;
                        hash(lease_idx, HashAlgorithm.crc32, 32w0, { lm.mem_subid, page },
                             (bit<32>)MEM_LEASE_SLOTS);
                        ipv6_addr_t holder;
                        timestamp_t expiry;
                        mem_lease_holder.read(holder, lease_idx);
                        mem_lease_expiry.read(expiry, lease_idx);
                        if (expiry > lm.now_us && holder != lm.mem_client) {
                            lm.mem_reason = MEM_LEASE_HELD;
                        } else {
                            bit<32> lease_us;
                            mem_config.read(lease_us, MEM_CFG_LEASE_US);
                            if (lease_us == 0) {
                                lease_us = DEFAULT_LEASE_US;
                            }
                            mem_lease_holder.write(lease_idx, lm.mem_client);
                            mem_lease_expiry.write(lease_idx, lm.now_us + (timestamp_t)lease_us);
                        }
                    }
                } else {
                    /* FREE, TRIM */
                    if ((lm.mem_perms & PERM_OWNER) == 0) {
                        lm.mem_reason = MEM_NOT_OWNER;
                    }
                }
            } else {
                lm.mem_reason = MEM_BAD_COMMAND;
            }

            if (lm.mem_reason == MEM_OK) {
                if (hdr.ipv6.hop_limit <= 1) {
                    lm.drop = 1;
                } else {
                    hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                    hdr.ethernet.dst_addr = lm.mem_server_dmac;
                    hdr.ethernet.src_addr = lm.mem_server_smac;
                    lm.out_port = lm.mem_server_port;
                    lm.mem_forwarded = 1;
                }
            }
        } else if (is_reply == 1) {
            if (lm.mem_server_known == 0 || lm.ingress_port != lm.mem_server_port) {
                lm.mem_reason = MEM_SPOOFED_REPLY;
            } else if (lm.mem_cmd == BB_ALLOC || lm.mem_cmd == BB_ALLOC_BULK
                       || lm.mem_cmd == BB_FREE) {
                lm.digest_type = DIGEST_MEM_EVENT;
            }
        }

        if (lm.mem_reason != MEM_OK) {
            lm.drop = 1;
            mem_violations.count(lm.mem_client_index);
            timestamp_t next_report;
            mem_report_next.read(next_report, lm.mem_client_index);
            if (lm.now_us >= next_report) {
                bit<32> report_us;
                mem_config.read(report_us, MEM_CFG_REPORT_US);
                if (report_us == 0) {
                    report_us = DEFAULT_REPORT_US;
                }
                mem_report_next.write(lm.mem_client_index, lm.now_us + (timestamp_t)report_us);
                lm.digest_type = DIGEST_MEM_DENY;
            }
        }
    }
}

#endif  /* _SLUICE_MEMGUARD_P4_ */
