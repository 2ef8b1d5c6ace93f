/*
 * define.p4: Sluice's shared vocabulary: types, protocol numbers, message codes and the
 * compile-time knobs. Nothing here depends on the architecture, so a TNA top level includes it
 * as it is. Every knob can be overridden on the compiler's command line (-DNAME=value).
 */
#ifndef _SLUICE_DEFINE_P4_
#define _SLUICE_DEFINE_P4_

typedef bit<48>  mac_addr_t;
typedef bit<32>  ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
typedef bit<9>   port_num_t;     /* v1model's port width; TNA's is the same */
typedef bit<3>   qid_t;          /* egress queue = standard_metadata.priority on v1model */
typedef bit<16>  flow_slot_t;    /* slot 0 means "no slot" (flow unknown) */
typedef bit<48>  timestamp_t;    /* microseconds */

/* The port the controller sits behind (BMv2: simple_switch_grpc --cpu-port 255). */
#ifndef CPU_PORT
#define CPU_PORT 255
#endif

/* Clone session for control frames sent out of port p: CTRL_SESSION_BASE + p. The controller
 * creates one session per port (session CTRL_SESSION_BASE + p replicates to port p only). */
#ifndef CTRL_SESSION_BASE
#define CTRL_SESSION_BASE 512
#endif

/* BlueBridge memory servers listen on this UDP port. */
#ifndef BB_UDP_PORT
#define BB_UDP_PORT 5000
#endif

/* Queue a flow without its own entry uses (the shared default queue). */
#ifndef DEFAULT_QID
#define DEFAULT_QID 0
#endif

/* Queue relayed PAUSE/RESUME frames leave by, ahead of the data they are about. BMv2 drops
 * packets whose priority has no queue: with fewer than 8 queues (--priority-queues), lower it. */
#ifndef CTRL_QID
#define CTRL_QID 7
#endif

/* Write-lease length and violation-report interval when the controller left the
 * corresponding mem_config register cell at 0. */
#ifndef DEFAULT_LEASE_US
#define DEFAULT_LEASE_US 1000
#endif
#ifndef DEFAULT_REPORT_US
#define DEFAULT_REPORT_US 1000000
#endif

const bit<16> ETHERTYPE_IPV4   = 0x0800;
const bit<16> ETHERTYPE_IPV6   = 0x86DD;
const bit<16> ETHERTYPE_SLUICE = 0x88B5;   /* IEEE 802 local experimental EtherType 1 */

const bit<8> IP_PROTO_TCP = 6;
const bit<8> IP_PROTO_UDP = 17;

/* Sluice control frames (docs/protocol.md section 2). */
const bit<4> SLUICE_VERSION = 1;
const bit<4> SLUICE_PAUSE    = 1;
const bit<4> SLUICE_RESUME   = 2;
const bit<4> SLUICE_DOORBELL = 3;
const bit<8> SLUICE_FLAG_RELAYED = 0x01;
const bit<16> SLUICE_FLOW_LEN     = 40;    /* body bytes of PAUSE and RESUME */
const bit<16> SLUICE_DOORBELL_LEN = 8;     /* body bytes of DOORBELL */
const bit<32> SLUICE_FLOW_FRAME_LEN     = 60;  /* Ethernet 14 + common 6 + flow 40 */
const bit<32> SLUICE_DOORBELL_FRAME_LEN = 28;  /* Ethernet 14 + common 6 + doorbell 8 */

/* What the egress pipeline turns a clone into (local_meta_t.ctrl_type); 0 = nothing. */
const bit<8> CTRL_NONE     = 0;
const bit<8> CTRL_PAUSE    = 1;
const bit<8> CTRL_RESUME   = 2;
const bit<8> CTRL_DOORBELL = 3;

/* Why a packet reached the controller (packet_in.reason). */
const bit<8> PUNT_NONE        = 0;
const bit<8> PUNT_ACL         = 1;
const bit<8> PUNT_TTL_EXPIRED = 2;   /* reserved: TTL expiry drops, it does not punt */
const bit<8> PUNT_NO_ROUTE    = 3;   /* reserved */

/* Which digest ingress sends (local_meta_t.digest_type); at most one per packet. */
const bit<8> DIGEST_NONE      = 0;
const bit<8> DIGEST_NEW_FLOW  = 1;
const bit<8> DIGEST_MEM_EVENT = 2;
const bit<8> DIGEST_MEM_DENY  = 3;

/* BlueBridge commands (IPv6 destination bits 111..96). */
const bit<16> BB_ALLOC      = 1;
const bit<16> BB_WRITE      = 2;
const bit<16> BB_READ       = 3;
const bit<16> BB_FREE       = 4;
const bit<16> BB_ALLOC_BULK = 5;
const bit<16> BB_WRITE_BULK = 6;
const bit<16> BB_READ_BULK  = 7;
const bit<16> BB_TRIM       = 8;

/* Permission bits the controller grants per (client, region). */
const bit<8> PERM_READ  = 0x01;
const bit<8> PERM_WRITE = 0x02;
const bit<8> PERM_OWNER = 0x04;

/* Why a memory request was refused (digest and docs/protocol.md section 5). */
const bit<8> MEM_OK            = 0;
const bit<8> MEM_NO_SERVER     = 1;
const bit<8> MEM_BAD_COMMAND   = 2;
const bit<8> MEM_NO_READ       = 3;
const bit<8> MEM_NO_WRITE      = 4;
const bit<8> MEM_NOT_OWNER     = 5;
const bit<8> MEM_NO_ALLOC      = 6;
const bit<8> MEM_LEASE_HELD    = 7;
const bit<8> MEM_SPOOFED_REPLY = 8;

/* mem_config register cells. */
const bit<32> MEM_CFG_LEASE_US  = 0;
const bit<32> MEM_CFG_REPORT_US = 1;

/* Page size of the write lease: 4 KiB. */
#define BB_PAGE_SHIFT 12

/* Clone field list of local_meta_t (@field_list). */
#define FL_CTRL 1

#endif  /* _SLUICE_DEFINE_P4_ */
