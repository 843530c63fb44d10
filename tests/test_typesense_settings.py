"""The cluster settings a configuration gives (index/typesense_client.py)."""

import pytest

from index.typesense_client import FAILOVER, SettingsError, parse_nodes, settings_from


def test_nodes_from_a_comma_separated_string_become_client_nodes():
    s = settings_from({"TYPESENSE_NODES": "http://127.0.0.1:8108, https://ts.example.org/",
                       "TYPESENSE_API_KEY": "k"})
    assert s.collection == "archivist"
    config = s.client_config()
    assert config["nodes"] == [{"host": "127.0.0.1", "protocol": "http", "port": 8108},
                               {"host": "ts.example.org", "protocol": "https", "port": 443}]
    assert config["api_key"] == "k"
    for key, value in FAILOVER.items():
        assert config[key] == value


def test_a_missing_node_list_or_key_is_a_clear_error():
    with pytest.raises(SettingsError, match="TYPESENSE_NODES"):
        settings_from({"TYPESENSE_API_KEY": "k"})
    with pytest.raises(SettingsError, match="TYPESENSE_API_KEY"):
        settings_from({"TYPESENSE_NODES": ["http://127.0.0.1:8108"]})


def test_a_node_that_is_not_a_url_is_refused():
    with pytest.raises(SettingsError, match="not an http"):
        parse_nodes("127.0.0.1:8108")
