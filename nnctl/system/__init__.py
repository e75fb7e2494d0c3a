"""The ground floor: what every layer may use. The library"s exceptions (``errors``), value
checks (``checks``), resource limits and capped reads (``resources``), BLAS threads
(``threads``), interruption (``interrupt``), the data files" hash cache (``filehash``) and the
seeded random streams (``seeds``). Imports nothing of nnctl above it."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["checks", "filehash", "interrupt", "threads"],
    submod_attrs={
        "checks": [
            "Invalid",
            "choice",
            "describe",
            "did_you_mean",
            "each",
            "fraction",
            "non_negative_number",
            "number",
            "optional",
            "positive_int",
            "positive_number",
            "quote",
            "quote_text",
            "seed_int",
            "string",
        ],
        "errors": [
            "ConfigError",
            "DataError",
            "NnctlError",
            "OptionError",
            "RunError",
            "RunFailed",
            "UsageError",
            "MAX_ERROR_LINE",
            "bounded_line",
            "printable",
            "quote_list",
        ],
        "filehash": ["cache_dir", "sha256_cached"],
        "resources": [
            "DeclaredTooLarge",
            "MAX_CONFIG_BYTES",
            "MAX_RUN_TEXT_BYTES",
            "NotRegularFile",
            "TooLarge",
            "available_memory",
            "check_declared",
            "declared_bytes",
            "human_bytes",
            "npz_headers",
            "open_regular",
            "read_capped",
            "require_memory",
            "training_estimate",
        ],
        "seeds": [
            "STREAM_BLOCKS",
            "STREAM_VERIFY",
            "STREAM_DROPOUT",
            "STREAM_HOLD_OUT",
            "STREAM_LEARNING_CURVE",
            "STREAM_SHUFFLE",
            "rng_for",
        ],
        "threads": ["blas_threads"],
    },
)
