"""Data larger than memory: mini-batches streamed from a course-style HDF5 file.

A streamed training set never exists whole in memory. Its ``*_x`` array stays in the file and
is seen through ``H5Columns`` (``columns``), an X: (n_x, m) whose columns are read on demand:

- The file's examples (axis 0) are cut into **blocks** of whole chunks (``layout.block_plan``),
  about ``BLOCK_BYTES`` of raw values each, so every read is one contiguous, chunk-aligned run.
- Each epoch visits the blocks in a seeded, shuffled order and shuffles the examples within a
  **window** of ``WINDOW`` consecutive blocks of that order (``batches.StreamBatches``). Random
  reads of single examples from HDF5 are an order of magnitude slower than memory (why Keras
  dropped ``HDF5Matrix``); whole blocks in a shuffled order are sequential reads.
- A window's blocks are read (``reader.BlockReader``: ``os.preadv`` straight from the file where
  the array is stored plainly, else h5py's ``read_direct``) into a buffer of the file's own type
  (uint8 pixels stay uint8 on disk and in the read buffer), then gathered in the window's
  shuffled order and converted to the run's dtype in one pass (cast, divide, normalize, a few
  rows at a time while they are in cache: ``H5Columns.convert``) into the window's buffer, as
  rows (k, n_x), i.e. a column-major X (see ``nnctl.training.batches``), with the arithmetic of
  ``data.prepare_x`` and ``normalize.apply_steps`` (an example's column is the same bits
  streamed or in memory). All buffers are allocated once per run.
- A background thread (``prefetch``) reads and converts the next window while the current one
  is trained on (h5py, ``preadv`` and numpy release the GIL while they read and convert); a
  mini-batch is then a run of consecutive rows of the window's buffer, handed to the training
  thread where it lies (copied only when it straddles two windows), laid out as
  ``nnctl.training.batches.BatchGatherer``'s batches: the training thread gathers nothing.
- The order is a pure function of (seed, epoch): the block order from a SeedSequence of
  (seed, ``STREAM_BLOCKS``, epoch), each window's shuffle from (…, window). A checkpoint records
  the position (epoch, block order, window and position in it) and resuming from it reads the
  same batches as an uninterrupted run.

Scoring (validation sets, the run's summary, ``evaluate``) reads the file block by block in file
order (``H5Columns.blocks``); see ``scoring.score``.

The file's header (``header``: the arrays found as the kinds table's HDF5 reader finds them, with
the course's names only) and its labels (``labels``) are read without its examples.
``plan.streaming_plan(cfg)`` decides whether a config's files are streamed;
``load.load_streamed`` makes the dataset.

The tunable sizes live in the module that uses them (``layout.BLOCK_BYTES``,
``reader.MAX_DIRECT_CHUNKS``, ``labels.LABEL_SLICE``, ...).
"""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=[
        "batches",
        "columns",
        "header",
        "labels",
        "layout",
        "load",
        "plan",
        "prefetch",
        "reader",
    ],
    submod_attrs={
        "batches": ["Position", "StreamBatches"],
        "columns": ["BlockColumns", "H5Columns"],
        "header": ["course_h5_header", "read_h5_header", "read_rows"],
        "labels": ["class_order_notice", "read_labels"],
        "layout": ["H5Layout", "block_plan"],
        "load": ["load_streamed"],
        "plan": ["StreamPlan", "memory_share", "streaming_plan", "too_big"],
        "prefetch": ["Prefetch"],
        "reader": ["BlockReader", "PlainExtents", "plain_extents"],
    },
)
