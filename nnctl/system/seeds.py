"""Seeded streams of randomness: one generator per purpose, all derived from a config's seed.

Every generator comes from a SeedSequence of (seed, stream number), so shuffling, dropout and
the validation hold-out never share draws, and adding a stream never moves another. The weight
initialization keeps the course's ``RandomState(seed)`` (see ``model.initialize_parameters``),
which is what reproduces the course's weights bit for bit.
"""

from __future__ import annotations

import numpy as np

STREAM_SHUFFLE, STREAM_DROPOUT, STREAM_HOLD_OUT = 1, 2, 3
STREAM_BLOCKS = 4  # a streamed file's block and window order (nnctl.data.stream), per epoch
STREAM_VERIFY = 5  # the step `nnctl verify --resume-check` interrupts its replay at
STREAM_FOLDS = 6  # the fold of each example in `nnctl cv` (nnctl.sweep.cv)
STREAM_LEARNING_CURVE = 7  # the order a learning curve's nested shares take examples in


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """The generator of one stream of randomness for a config's seed."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))
