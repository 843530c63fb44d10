"""How Archivist reaches a Typesense cluster: one place for the settings.

Both sides use it: the indexer (`index.typesense_store`) writes through the
client this module configures, the read engine (`search.typesense_engine`)
searches through it. The settings come from the instance configuration or
the environment (`webui.config`):

    ARCHIVIST_ENGINE=typesense
    ARCHIVIST_TYPESENSE_NODES=http://10.0.0.1:8108,http://10.0.0.2:8108,http://10.0.0.3:8108
    ARCHIVIST_TYPESENSE_API_KEY=...
    ARCHIVIST_TYPESENSE_COLLECTION=archivist        (optional)

**Riding out a leader's death.** The Python client's defaults skip a node
that failed once for 60 s and give a request three tries a second apart; on
a 3-node cluster whose leader was killed, writes then kept failing for about
45 s. With `FAILOVER` a dead node is tried again after 2 s and a request
moves on to the next node 0.2 s after a failure, up to five times: reads go
on at the followers, and writes come back soon after the election
(tests/test_typesense_cluster.py measures both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Client settings that ride out a leader's death (see the module docstring).
FAILOVER = {"healthcheck_interval_seconds": 2, "retry_interval_seconds": 0.2,
            "num_retries": 5}
#: Seconds one request to one node may take before the client tries the next.
CONNECTION_TIMEOUT = 5.0
#: The collection (an alias, once a rebuild has swapped one in) when none is configured.
DEFAULT_COLLECTION = "archivist"


class SettingsError(ValueError):
    """The configuration does not say how to reach a cluster."""


@dataclass(frozen=True)
class TypesenseSettings:
    """Where the cluster is and what to call the archive in it."""

    nodes: tuple[str, ...]
    api_key: str
    collection: str = DEFAULT_COLLECTION
    #: Extra client settings, e.g. {"num_retries": 0} for a test that wants failures.
    client_overrides: Mapping[str, object] = field(default_factory=dict)

    def client_config(self) -> dict:
        """The `typesense.Client` configuration: every node, the key, `FAILOVER`."""
        nodes = []
        for url in self.nodes:
            parts = urlsplit(url)
            nodes.append({"host": parts.hostname, "protocol": parts.scheme,
                          "port": parts.port or (443 if parts.scheme == "https" else 80)})
        config = {"nodes": nodes, "api_key": self.api_key,
                  "connection_timeout_seconds": CONNECTION_TIMEOUT, **FAILOVER}
        config.update(self.client_overrides)
        return config

    def client(self):
        """A new `typesense.Client` for these settings."""
        import typesense

        return typesense.Client(self.client_config())


def parse_nodes(value: str | Sequence[str]) -> tuple[str, ...]:
    """Node URLs from a comma-separated string or a list; each must be
    `http(s)://host:port`."""
    items = value.split(",") if isinstance(value, str) else list(value)
    nodes = tuple(item.strip().rstrip("/") for item in items if item and item.strip())
    for url in nodes:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"TYPESENSE_NODES: {url!r} is not an http(s)://host:port URL")
    return nodes


def settings_from(config: Mapping) -> TypesenseSettings:
    """The cluster settings of a configuration (`TYPESENSE_NODES`,
    `TYPESENSE_API_KEY`, `TYPESENSE_COLLECTION`); a clear error when one
    that is needed is missing."""
    nodes = parse_nodes(config.get("TYPESENSE_NODES") or "")
    if not nodes:
        raise SettingsError("ENGINE is typesense but TYPESENSE_NODES names no node "
                            "(e.g. http://127.0.0.1:8108,http://127.0.0.1:8109)")
    key = config.get("TYPESENSE_API_KEY")
    if not key:
        raise SettingsError("ENGINE is typesense but TYPESENSE_API_KEY is not set")
    collection = str(config.get("TYPESENSE_COLLECTION") or DEFAULT_COLLECTION)
    return TypesenseSettings(nodes=nodes, api_key=str(key), collection=collection)
