"""The only code in regcast that touches sockets.

- :mod:`producer.network.channel`: one connection's frame buffers (``KafkaChannel``).
- :mod:`producer.network.selector`: one ``selectors`` loop over all channels, wakeup.
- :mod:`producer.network.in_flight`: per-node FIFO deques of requests awaiting answers.
- :mod:`producer.network.connection_states`: per-node state machine, reconnect backoff.
- :mod:`producer.network.client`: ``NetworkClient``: handshake, version negotiation,
  correlation, time-outs, metadata refresh. The sender builds on it.
"""

from producer.network.client import (
    ClientRequest,
    ClientResponse,
    NetworkClient,
    NodeNotReadyError,
)
from producer.network.connection_states import ConnectionState

__all__ = [
    "ClientRequest",
    "ClientResponse",
    "ConnectionState",
    "NetworkClient",
    "NodeNotReadyError",
]
