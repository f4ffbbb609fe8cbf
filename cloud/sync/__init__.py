"""The cloud's end of station sync (MQTT): :mod:`~cloud.sync.ingest` applies what stations send,
:mod:`~cloud.sync.outbound` queues what goes down to them, :mod:`~cloud.sync.resync` answers a
restored station. The wire contract is :mod:`edge.sync.schema`, shared with the stations."""
