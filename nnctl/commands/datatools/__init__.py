"""``nnctl data inspect`` and ``nnctl data import``.

- ``inspection``: ``inspect``, a dataset described before training (examples per split and
  class, value ranges, non-finite cells, examples in both train and test, class balance).
- ``importing``: ``import_h5``, any readable dataset written as a course-style HDF5 file, whole
  or absent (a full disk is one error line).
"""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["importing", "inspection"],
    submod_attrs={
        "importing": ["IMPORT_CHUNK", "IMPORT_WINDOW", "import_h5"],
        "inspection": ["inspect"],
    },
)
