"""Datasets: what a config's ``dataset`` names, read into arrays (``dataset``), by kind of file
(``readers``) or streamed from HDF5 in blocks (``stream``); synthetic generators, hold-out
splits, normalization and image decoding."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["normalize", "stream"],
    submod_attrs={
        "dataset": [
            "Dataset",
            "SYNTHETIC",
            "Synthetic",
            "all_finite",
            "is_mapped",
            "load_dataset",
            "per_example",
            "prepare_x",
            "raw_subset",
            "read_h5",
            "read_raw_split",
            "resolve_path",
            "sha256_cached",
            "split_off_test",
        ],
        "holdout": ["hold_out", "hold_out_indices", "take"],
        "images": ["ImageError", "list_images", "load_image"],
        "normalize": ["apply_steps"],
        "readers": ["KINDS", "Kind", "kind_of", "read_source"],
        "readers.base": ["OnProgress", "RawSplit", "ReadOptions"],
        "readers.folder": ["decode_windows", "input_shape", "list_examples", "read_folder"],
        "readers.hdf5": ["map_contiguous", "map_region"],
        "stream": [
            "BlockReader",
            "H5Columns",
            "course_h5_header",
            "load_streamed",
            "read_h5_header",
            "read_rows",
            "streaming_plan",
            "too_big",
        ],
    },
)
