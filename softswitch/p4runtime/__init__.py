"""The embedded target's P4Runtime server (spec 1.3+, protos of the ``p4runtime`` package).

- :mod:`.errors`: :class:`~.errors.P4RTError` and the spec's batch error (one ``p4.v1.Error``
  per update in ``grpc-status-details-bin``).
- :mod:`.p4info_index`: the controller's P4Info schema and bytestring codec
  (:mod:`controlplane.p4rt.schema`, :mod:`controlplane.p4rt.values`) as the server uses them:
  by id, with its status codes.
- :mod:`.entities`: :class:`~.entities.EntityStore`, which turns Write updates into engine calls
  and Read requests into entities (tables in :mod:`.entities_tables`, action profiles in
  :mod:`.entities_profiles`, counters, meters, registers, value sets and digests in
  :mod:`.entities_externs`, the PRE in :mod:`.entities_pre`).
- :mod:`.packetio`: packet-in/packet-out controller metadata.
- ``server``, ``arbitration``, ``stream``: the gRPC service, primary election and the stream.
"""
