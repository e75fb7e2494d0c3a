"""scikit-learn estimators over the library (the ``sklearn`` extra): ``NNClassifier`` and
``NNRegressor`` (``estimators``), whose parameters are a config's keys (``settings``), trained
on in-memory arrays (``arrays``) by the library's own training functions (``training``), with
the shared machinery in ``base`` and run directories written and read in ``rundir``. Only this
package imports scikit-learn; ``import nnctl`` does not import it."""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={"estimators": ["NNClassifier", "NNRegressor"]},
)
