"""Configs: strict YAML (``parsing``), the config's value checks (``values``), the table of keys
(``keys``), resolution into a ``Config`` (``resolution``, ``config``), ``--set`` overrides
(``overrides``), config files (``loading``), the JSON schema (``schema``) and the key reference
(``keydocs``), the last two generated from the key table."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "config": ["Config"],
        "keydocs": ["KeyDoc", "key_docs"],
        "keys": [
            "CONFIG_KEYS",
            "DATASET_FILE_KEYS",
            "DATASET_SYNTHETIC_KEYS",
            "config_keys",
        ],
        "loading": ["dump_config", "load_config"],
        "overrides": ["apply_overrides"],
        "parsing": ["MAX_YAML_DEPTH", "MAX_YAML_NODES", "parse_yaml"],
        "resolution": ["resolve"],
        "schema": ["config_schema"],
        "values": ["REQUIRED"],
    },
)
