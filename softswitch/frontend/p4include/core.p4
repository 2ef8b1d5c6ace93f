/*
 * core.p4 for the Sluice front end.
 *
 * The P4_16 core library: the declarations every P4_16 program can rely on. This is an
 * interface shared with the reference compiler, so names, parameters, directions, annotations
 * and the order of declarations match the standard file exactly; only the commentary is ours.
 * Order matters: error members and match kinds are numbered in declaration order.
 */

#ifndef _CORE_P4_
#define _CORE_P4_

/* Built-in parser errors; a program may add members with its own error declarations. */
error {
    NoError,               // nothing went wrong
    PacketTooShort,        // extract/lookahead ran past the end of the packet
    NoMatch,               // no select case matched
    StackOutOfBounds,      // header stack index out of range
    HeaderTooShort,        // a varbit extract asked for more bits than the field holds
    ParserTimeout,         // the target's parser time budget ran out
    ParserInvalidArgument  // a parser operation received a value it cannot handle
}

/* The packet being parsed, read from a cursor that only moves forward. */
extern packet_in {
    /* Copy the next sizeof(T) bits into hdr (fixed-size header) and advance. */
    void extract<T>(out T hdr);
    /* Same for a header with one varbit field, whose length in bits is given. */
    void extract<T>(out T variableSizeHeader,
                    in bit<32> variableFieldSizeInBits);
    /* Peek at the next bits as a T without advancing. */
    T lookahead<T>();
    /* Skip sizeInBits bits. */
    void advance(in bit<32> sizeInBits);
    /* Length of the whole packet in bytes (not every target offers it). */
    bit<32> length();
}

/* The packet being built by a deparser. */
extern packet_out {
    /* Append hdr (header, stack, union, or struct of those); invalid headers emit nothing. */
    void emit<T>(in T hdr);
}

/* In a parser: when check is false, record toSignal as the parser error and reject. */
extern void verify(in bool check, in error toSignal);

/* The action that does nothing; tables use it as their implicit default. */
@noWarn("unused")
action NoAction() {}

/* Match kinds every architecture knows; architectures may declare more. */
match_kind {
    exact,    // the key equals the entry's value
    ternary,  // the key equals the value under a mask
    lpm       // longest matching prefix wins
}

/* Compile-time assertion: compilation stops with message when check is false. It returns a
 * bool so it can initialise a constant, e.g. const bool ok = static_assert(X > 1, "X"). */
extern bool static_assert(bool check, string message);

/* The same with a compiler-chosen message. */
extern bool static_assert(bool check);

#endif  /* _CORE_P4_ */
