"""The commands' libraries: what ``train``, ``predict``, ``evaluate``, ``gradcheck``,
``report``, ``export``, ``plot`` and ``data import/inspect`` do, as functions that return
values and raise the library's errors. The CLI parses and presents; these never print."""
