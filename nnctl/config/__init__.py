"""Configs: strict YAML, the table of keys and their checks, resolution into a ``Config``,
``--set`` overrides, and the JSON schema generated from the key table."""
