"""The commands" libraries: what ``train``, ``predict``, ``evaluate``, ``diagnose``,
``gradcheck``, ``report``, ``export``, ``plot``, ``verify`` and ``data import/inspect`` do, as
functions that return values and raise the library"s errors. The CLI parses and presents; these
never print."""

import lazy_loader as lazy

# Public names, imported from their module on first use: importing the package costs
# nothing, so `nnctl --help` does not pay for the layers it does not touch.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["datatools", "gradcheck"],
    submod_attrs={
        "datatools": ["import_h5", "inspect"],
        "diagnose": ["Diagnosis", "diagnose_run"],
        "evaluate": [
            "RegressionEvaluation",
            "check_errors_dir",
            "evaluate_run",
            "load_eval_data",
            "parse_goal",
            "tune_threshold",
            "write_errors",
        ],
        "export": ["export_run"],
        "gradcheck": ["check_suite", "check_target", "overall_error"],
        "plot": ["plot_curves", "plot_metric"],
        "predict": ["check_predictable", "predict_examples", "predict_inputs"],
        "recording": ["record_result"],
        "report": ["CSP", "check_output", "write_report"],
        "train": ["EpochEnd", "RunStart", "fit", "resume_run", "train_run"],
        "verify": ["Verification", "verify_run"],
    },
)
