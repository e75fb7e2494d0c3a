"""Datasets: the course's HDF5 files and synthetic generators, validated and laid out as
X: (n_x, m).

``load_dataset(spec, dtype)`` (``load``) takes the resolved ``dataset`` mapping of a config and
returns a ``Dataset`` (``container``). Everything ``predict`` needs to prepare new inputs the
same way (input shape, pixel scaling, class names) travels with it into the run's
``summary.json``. Files are found (``paths``), read by kind and laid out (``files``), their
values checked (``values``); generators are in ``synthetic``.
"""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["container", "files", "load", "paths", "synthetic", "values"],
    submod_attrs={
        "container": ["Dataset"],
        "files": [
            "load_files",
            "prepare_x",
            "raw_subset",
            "read_h5",
            "read_raw_split",
            "split_off_test",
        ],
        "load": ["load_dataset"],
        "paths": ["DATA_DIR_ENV", "resolve_path", "sha256_cached"],
        "synthetic": ["SYNTHETIC", "Synthetic", "load_synthetic"],
        "values": [
            "all_finite",
            "check_x",
            "is_mapped",
            "per_example",
            "validate_labels",
            "validate_targets",
        ],
    },
)
