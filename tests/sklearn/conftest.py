"""Set-up for the scikit-learn tests, made when pytest collects this folder (before any test
of the session runs).

- scikit-learn's array API check (``check_array_api_input``, NumPy inputs with array API
  dispatch on) runs only when SCIPY_ARRAY_API is set before scipy is first imported; set here
  so that the conformance suite skips nothing.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
