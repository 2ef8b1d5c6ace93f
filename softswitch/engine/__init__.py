"""The v1model engine: pipeline runtime, traffic manager, packet replication, time.

One concept per module, as in BMv2's ``bm_sim``: ``clock`` (real and virtual time), ``queueing``
(the traffic manager's egress queues), ``pre`` (multicast groups and clone sessions), and the
pipeline pieces that use them.
"""
