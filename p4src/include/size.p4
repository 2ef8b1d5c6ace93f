/*
 * size.p4: table and register sizes, in one place so a target with less memory can shrink
 * them with -D. Register-backed sizes are powers of two (hash results index them).
 */
#ifndef _SLUICE_SIZE_P4_
#define _SLUICE_SIZE_P4_

#ifndef L2_TABLE_SIZE
#define L2_TABLE_SIZE 1024
#endif
#ifndef ROUTE_V4_TABLE_SIZE
#define ROUTE_V4_TABLE_SIZE 1024
#endif
#ifndef ROUTE_V6_TABLE_SIZE
#define ROUTE_V6_TABLE_SIZE 1024
#endif
#ifndef ACL_TABLE_SIZE
#define ACL_TABLE_SIZE 256
#endif

/* Flows with their own entry; slots index the per-flow registers (slot 0 unused). */
#ifndef FLOW_TABLE_SIZE
#define FLOW_TABLE_SIZE 4096
#endif
#ifndef FLOW_SLOTS
#define FLOW_SLOTS 4096
#endif
/* Bits of the new-flow digest de-duplication bitmap. */
#ifndef FLOW_DEDUP_SLOTS
#define FLOW_DEDUP_SLOTS 4096
#endif
/* Queue classes that carry watermarks: one per queue. */
#ifndef QUEUE_CLASS_TABLE_SIZE
#define QUEUE_CLASS_TABLE_SIZE 8
#endif

/* Doorbell state per (port, queue): index port * 8 + qid. */
#ifndef DOORBELL_PORT_TABLE_SIZE
#define DOORBELL_PORT_TABLE_SIZE 512
#endif
#define DOORBELL_SLOTS 4096

#ifndef MEM_SERVER_TABLE_SIZE
#define MEM_SERVER_TABLE_SIZE 256
#endif
#ifndef MEM_ACL_TABLE_SIZE
#define MEM_ACL_TABLE_SIZE 4096
#endif
#ifndef MEM_ALLOC_TABLE_SIZE
#define MEM_ALLOC_TABLE_SIZE 256
#endif
/* Per-client violation counters and report timers, indexed by a hash of the client address. */
#ifndef MEM_CLIENT_SLOTS
#define MEM_CLIENT_SLOTS 1024
#endif
/* Write leases, indexed by a hash of (subid, page). */
#ifndef MEM_LEASE_SLOTS
#define MEM_LEASE_SLOTS 4096
#endif

#endif  /* _SLUICE_SIZE_P4_ */
