"""Set-up for the scikit-learn tests, made when pytest collects this folder (before any test
of the session runs).

- scikit-learn's array API check (``check_array_api_input``, NumPy inputs with array API
  dispatch on) runs only when SCIPY_ARRAY_API is set before scipy is first imported; set here
  so that the conformance suite skips nothing.
- Importing scikit-learn loads its OpenMP runtime into the test process, a thread pool of its
  own that nnctl never uses and ``--threads`` (a BLAS limit) leaves alone; the CLI's threads
  test (tests/cli/test_scripting_contract.py) checks that every pool of the process is at one
  thread while a ``--threads 1`` run trains. That pool is kept at one thread for the session.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

try:
    import sklearn  # noqa: F401 - loads the OpenMP runtime that the limit below finds
except ImportError:  # the sklearn extra is not installed: the tests here skip
    OPENMP_LIMIT = None
else:
    from threadpoolctl import threadpool_limits

    OPENMP_LIMIT = threadpool_limits(limits=1, user_api="openmp")
