"""Inspectors: look at the data, and at a model while it trains.

    stats.py         a corpus's counts, alphabet, lengths, common items
    hooks.py         statistics of a step through forward/backward hooks, by module type
    recorder.py      what the training loop calls: diagnostics.jsonl, printed checks
    checks.py        findings that say what was seen, the cause and the fix
    init.py          initialisation through depth (``charloom init-sim``)
    plots.py         the lectures' figures as PNGs (matplotlib, optional)
    report.py        one self-contained HTML page per run
    diagnose.py      ``charloom diagnose RUN``: plots, checks, report
    tensorboard.py   scalars to TensorBoard when it is installed

Nothing is imported here, so ``charloom data`` stays quick; import the module you need:

>>> from charloom.inspect.diagnose import diagnose           # doctest: +SKIP
>>> from charloom.inspect.checks import check_model          # doctest: +SKIP
"""
