"""``nnctl sweep``: hyperparameter sweeps whose trials are ordinary runs.

``spec`` reads and checks sweep files and builds each trial's config; ``trial`` trains one
trial on a worker and writes it as a run on the client; ``store`` owns the sweep directory;
``engine`` drives Optuna (the search) and Dask distributed (the execution), and is the only
module that imports them.
"""
