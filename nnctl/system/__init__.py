"""The ground floor: what every layer may use. The library's exceptions (``errors``), value
checks (``checks``), resource limits and capped reads (``resources``), BLAS threads
(``threads``), interruption (``interrupt``), the data files' hash cache (``filehash``) and the
seeded random streams (``seeds``). Imports nothing of nnctl above it."""
