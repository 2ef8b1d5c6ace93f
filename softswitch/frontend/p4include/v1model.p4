/*
 * v1model.p4 for the Sluice front end.
 *
 * The v1model architecture (the P4_16 view of the P4_14 switch that BMv2's simple_switch runs).
 * This is an interface shared with the reference compiler: every declaration, name, type
 * parameter, parameter name and direction, annotation and the declaration order match the
 * standard file, so programs compile unchanged and P4Info comes out the same. The commentary is
 * our own.
 *
 * V1MODEL_VERSION selects the revision (a date, YYYYMMDD). Revisions from 20200408 on give
 * counters, meters and registers an index type parameter and introduce PortId_t. Programs
 * choose one by defining V1MODEL_VERSION before including this file.
 */

#ifndef _V1_MODEL_P4_
#define _V1_MODEL_P4_

#include "core.p4"

#ifndef V1MODEL_VERSION
#define V1MODEL_VERSION 20180101
#endif

match_kind {
    range,
    // matches one value exactly, or anything when the entry leaves the field out
    optional,
    // key fields that feed an action selector's hash
    selector
}

// The revision in effect, visible to the program as a constant.
const bit<32> __v1model_version = V1MODEL_VERSION;

#if V1MODEL_VERSION >= 20200408
typedef bit<9>  PortId_t;
#endif

/*
 * Per-packet intrinsic metadata. @alias names the BMv2 field each member stands for (the JSON
 * back end's field_alias table); the names and widths are fixed by the architecture.
 */
@metadata @name("standard_metadata")
struct standard_metadata_t {
#if V1MODEL_VERSION >= 20200408
    PortId_t    ingress_port;
    PortId_t    egress_spec;
    PortId_t    egress_port;
#else
    bit<9>      ingress_port;
    bit<9>      egress_spec;
    bit<9>      egress_port;
#endif
    bit<32>     instance_type;
    bit<32>     packet_length;
    // Queueing information, valid in egress.
    @alias("queueing_metadata.enq_timestamp")
    bit<32> enq_timestamp;
    @alias("queueing_metadata.enq_qdepth")
    bit<19> enq_qdepth;
    @alias("queueing_metadata.deq_timedelta")
    bit<32> deq_timedelta;
    // Depth of the queue when the packet left it.
    @alias("queueing_metadata.deq_qdepth")
    bit<19> deq_qdepth;

    // Timestamps and replication.
    @alias("intrinsic_metadata.ingress_global_timestamp")
    bit<48> ingress_global_timestamp;
    @alias("intrinsic_metadata.egress_global_timestamp")
    bit<48> egress_global_timestamp;
    // Multicast group to replicate to (0: none).
    @alias("intrinsic_metadata.mcast_grp")
    bit<16> mcast_grp;
    // Which replica this is, for multicast copies.
    @alias("intrinsic_metadata.egress_rid")
    bit<16> egress_rid;
    // Set to 1 when a verify_checksum call found a mismatch.
    bit<1>  checksum_error;
    // The error the parser ended with.
    error parser_error;
    // Queue priority chosen in ingress.
    @alias("intrinsic_metadata.priority")
    bit<3> priority;
}

enum CounterType {
    packets,
    bytes,
    packets_and_bytes
}

enum MeterType {
    packets,
    bytes
}

/*
 * An array of `size` counters that the data plane increments and only the control plane reads.
 * count(index) adds one packet and/or the packet's bytes to counter `index`; an index out of
 * range changes nothing.
 */
extern counter
#if V1MODEL_VERSION >= 20200408
<I>
#endif
{
    counter(bit<32> size, CounterType type);
#if V1MODEL_VERSION >= 20200408
    void count(in I index);
#else
    void count(in bit<32> index);
#endif
}

/*
 * One counter per entry of the table that names this object in its `counters` property. The
 * matched entry's counter is updated whenever the table hits, so count() is optional.
 */
extern direct_counter {
    direct_counter(CounterType type);
    void count();
}

// Colours written by meters.
#define V1MODEL_METER_COLOR_GREEN  0
#define V1MODEL_METER_COLOR_YELLOW 1
#define V1MODEL_METER_COLOR_RED    2

/*
 * An array of `size` rate meters (two-rate three-colour, RFC 2698). execute_meter(index, result)
 * updates meter `index` with this packet and writes its colour (green 0, yellow 1, red 2) to
 * result, which must be at least bit<2>; for an index out of range result is unspecified.
 */
extern meter
#if V1MODEL_VERSION >= 20200408
<I>
#endif
{
    meter(bit<32> size, MeterType type);
#if V1MODEL_VERSION >= 20200408
    void execute_meter<T>(in I index, out T result);
#else
    void execute_meter<T>(in bit<32> index, out T result);
#endif
}

/*
 * One meter per entry of the table that names this object in its `meters` property. read()
 * gives the colour computed for the entry that matched; it is meant for that table's actions.
 */
extern direct_meter<T> {
    direct_meter(MeterType type);
    void read(out T result);
}

/*
 * An array of `size` values of type T that the data plane can read and write, e.g.
 * register<bit<32>>(512) r. read() of an out-of-range index gives an unspecified value;
 * write() to one does nothing.
 */
#if V1MODEL_VERSION >= 20200408
extern register<T, I>
#else
extern register<T>
#endif
{
    register(bit<32> size);
    @noSideEffects
#if V1MODEL_VERSION >= 20200408
    void read(out T result, in I index);
#else
    void read(out T result, in bit<32> index);
#endif
#if V1MODEL_VERSION >= 20200408
    void write(in I index, in T value);
#else
    void write(in bit<32> index, in T value);
#endif
}

// A table implementation: entries refer to shared action members.
extern action_profile {
    action_profile(bit<32> size);
}

// Write a random value between lo and hi inclusive to result (unspecified when lo > hi).
extern void random<T>(out T result, in T lo, in T hi);

/*
 * Send `data` to the control plane as a digest message. The values are taken at the time of the
 * call. Ingress only; a named struct type T names the digest in P4Info. BMv2 ignores receiver.
 */
extern void digest<T>(in bit<32> receiver, in T data);

enum HashAlgorithm {
    crc32,
    crc32_custom,
    crc16,
    crc16_custom,
    random,
    identity,
    csum16,
    xor16
}

@deprecated("Please use mark_to_drop(standard_metadata) instead.")
extern void mark_to_drop();

/*
 * Set egress_spec to the drop port and mcast_grp to 0. Later code may still change either field,
 * and with it the packet's fate.
 */
@pure
extern void mark_to_drop(inout standard_metadata_t standard_metadata);

/*
 * result = base + (hash of data, computed with algo) mod max; with max 0 the result is base.
 * O, T and M are bit<W> types of any width; D is a tuple of bit, int or varbit fields.
 */
@pure
extern void hash<O, T, D, M>(out O result, in HashAlgorithm algo, in T base, in D data, in M max);

// A table implementation that picks a group member by hashing the selector key fields.
extern action_selector {
    action_selector(HashAlgorithm algorithm, bit<32> size, bit<32> outputWidth);
}

enum CloneType {
    I2E,
    E2E
}

@deprecated("Please use verify_checksum/update_checksum instead.")
extern Checksum16 {
    Checksum16();
    bit<16> get<D>(in D data);
}

/*
 * In the VerifyChecksum control: when condition holds and checksum differs from the checksum of
 * data (a tuple of bit/int/varbit fields) computed with algo, set checksum_error to 1.
 */
extern void verify_checksum<T, O>(in bool condition, in T data, in O checksum, HashAlgorithm algo);

/*
 * In the ComputeChecksum control: when condition holds, store the checksum of data computed with
 * algo into checksum.
 */
@pure
extern void update_checksum<T, O>(in bool condition, in T data, inout O checksum, HashAlgorithm algo);

// As verify_checksum, with the unparsed payload appended to data.
extern void verify_checksum_with_payload<T, O>(in bool condition, in T data, in O checksum, HashAlgorithm algo);

// As update_checksum, with the payload appended to data.
@noSideEffects
extern void update_checksum_with_payload<T, O>(in bool condition, in T data, inout O checksum, HashAlgorithm algo);

// Clone the packet to a clone session without preserving any user metadata.
extern void clone(in CloneType type, in bit<32> session);

@deprecated("Please use 'resubmit_preserving_field_list' instead")
extern void resubmit<T>(in T data);

/*
 * From ingress: run the original packet through the parser again once ingress ends, keeping the
 * user metadata fields annotated @field_list(index). The last call in an ingress pass wins.
 */
extern void resubmit_preserving_field_list(bit<8> index);

@deprecated("Please use 'recirculate_preserving_field_list' instead")
extern void recirculate<T>(in T data);

/*
 * From egress: feed the deparsed packet back to the parser, keeping the user metadata fields
 * annotated @field_list(index). The last call in an egress pass wins.
 */
extern void recirculate_preserving_field_list(bit<8> index);

@deprecated("Please use 'clone_preserving_field_list' instead")
extern void clone3<T>(in CloneType type, in bit<32> session, in T data);

/*
 * Make copies of the packet for clone session `session` (I2E from ingress, E2E from egress),
 * each carrying the user metadata fields annotated @field_list(index). The copies go through
 * egress independently of the original. The last clone call in a control wins.
 */
extern void clone_preserving_field_list(in CloneType type, in bit<32> session, bit<8> index);

// Keep at most `length` bytes of the packet when it is sent.
extern void truncate(in bit<32> length);

/*
 * assert: a false check is a bug; simple_switch logs the location and stops. assume: the same
 * on a target, but tells verification tools to ignore inputs that make it false. Both vanish
 * when compiling with --ndebug, so their arguments should have no side effects.
 */
extern void assert(in bool check);

extern void assume(in bool check);

// Write a message to the target's log; "{}" in msg is replaced by the fields of data in turn.
extern void log_msg(string msg);
extern void log_msg<T>(string msg, in T data);

/*
 * The pipeline. H is the struct of headers, M the user metadata struct. The checksum controls
 * may only call the checksum externs above, and the deparser may only emit.
 */

parser Parser<H, M>(packet_in b,
                    out H parsedHdr,
                    inout M meta,
                    inout standard_metadata_t standard_metadata);

control VerifyChecksum<H, M>(inout H hdr,
                             inout M meta);
@pipeline
control Ingress<H, M>(inout H hdr,
                      inout M meta,
                      inout standard_metadata_t standard_metadata);
@pipeline
control Egress<H, M>(inout H hdr,
                     inout M meta,
                     inout standard_metadata_t standard_metadata);

control ComputeChecksum<H, M>(inout H hdr,
                              inout M meta);

@deparser
control Deparser<H>(packet_out b, in H hdr);

package V1Switch<H, M>(Parser<H, M> p,
                       VerifyChecksum<H, M> vr,
                       Ingress<H, M> ig,
                       Egress<H, M> eg,
                       ComputeChecksum<H, M> ck,
                       Deparser<H> dep
                       );

#endif  /* _V1_MODEL_P4_ */
