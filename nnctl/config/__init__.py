"""Configs: strict YAML, the table of keys and their checks, resolution into a ``Config``,
``--set`` overrides, and the JSON schema generated from the key table."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["settings"],
    submod_attrs={
        "schema": ["config_schema"],
        "settings": [
            "CONFIG_KEYS",
            "Config",
            "DATASET_FILE_KEYS",
            "DATASET_SYNTHETIC_KEYS",
            "MAX_YAML_DEPTH",
            "MAX_YAML_NODES",
            "REQUIRED",
            "apply_overrides",
            "config_keys",
            "dump_config",
            "load_config",
            "parse_yaml",
            "resolve",
        ],
    },
)
