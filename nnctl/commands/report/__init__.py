"""``report``: one or more trained runs as a single self-contained HTML page.

Everything is inside the file: charts are inline SVG (``svg``), images are PNG ``data:`` URIs,
styles are one inline ``<style>``; there is no script at all. A Content-Security-Policy meta tag
forbids every fetch except ``data:`` images, so even a mistake in the markup cannot reach the
network; the page opens from disk in any browser.

Per run: the headline (name, status, data, layer sizes with parameter counts, time), the config
(keys that differ from the defaults, then all), provenance (versions, data hashes), the cost
curve (linear and log, per-batch costs faint behind a moving average), validation loss and
accuracy per epoch, test and validation scores (classifiers: accuracy, per-class precision /
recall / F1, a coloured confusion matrix; regression: predicted-vs-true and residuals), and for
image runs the misclassified test images. Several runs also get their curves overlaid and a
table of the config keys and scores that differ.

- ``gather``: what the page shows about a run (``RunView``), read and scored before any HTML.
- ``sections``, ``scores``, ``compare``: the page's parts, on ``markup``'s HTML pieces;
  ``cv``: a fold run's cross-validation (``nnctl cv``) with its suspect labels as thumbnails.
- ``page``: the whole document (``render``); ``write``: ``write_report``.
"""

import lazy_loader as lazy

# Public names, imported from their module on first use.
__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["svg"],
    submod_attrs={
        "gather": ["MAX_ERROR_IMAGES", "RunView", "SplitScores", "gather"],
        "page": ["CSP", "CSS", "render"],
        "write": ["ReportInfo", "check_output", "write_report"],
    },
)
