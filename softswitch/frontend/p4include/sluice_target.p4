/*
 * sluice.p4: externs only the Sluice embedded target (softswitch) provides.
 *
 * Data-plane queue pause and resume, what Tofino2 calls advanced flow control: an action can
 * hold one egress queue of a port and later release it. A paused queue keeps its packets (and
 * still accepts new ones, up to its depth) and is skipped by the scheduler, so the port's other
 * queues and other ports keep flowing; on resume it drains in order at its own rate.
 *
 * BMv2 and p4c know none of this, so a program includes this file only when the Sluice front
 * end compiles it (it predefines __TARGET_SLUICE__ for every program), and p4c never sees it:
 *
 *     #ifdef __TARGET_SLUICE__
 *     #include <sluice_target.p4>
 *     #endif
 *     ...
 *     #ifdef SLUICE_QUEUE_PAUSE
 *         sluice_queue_pause(std_meta.egress_spec, 3w1);
 *     #else
 *         // what the program does where queues cannot be paused (relay, drop, ...)
 *     #endif
 *
 * The externs are functions, not objects: they have no control-plane state, so they add nothing
 * to P4Info.
 */

#ifndef _SLUICE_TARGET_P4_
#define _SLUICE_TARGET_P4_

/* Defined when the target can pause and resume its egress queues from the data plane. */
#define SLUICE_QUEUE_PAUSE 1

/*
 * Pause queue `qid` of egress port `port`, from the moment the calling action runs.
 * `qid` is the priority queue index, the value of standard_metadata.priority that selects it
 * (the highest index is served first). Pausing a paused queue changes nothing. A `qid` the
 * switch has no queue for (its priority_queues setting) is ignored, as is port 511 (drop).
 */
extern void sluice_queue_pause(in bit<9> port, in bit<3> qid);

/*
 * Resume queue `qid` of egress port `port`: its held packets leave in order, at the queue's
 * rate, from the moment the calling action runs. Resuming a running queue changes nothing.
 */
extern void sluice_queue_resume(in bit<9> port, in bit<3> qid);

#endif  /* _SLUICE_TARGET_P4_ */
