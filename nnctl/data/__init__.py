"""Datasets: what a config's ``dataset`` names, read into arrays (``dataset``), by kind of file
(``readers``) or streamed from HDF5 in blocks (``stream``); synthetic generators, hold-out
splits, normalization and image decoding."""
