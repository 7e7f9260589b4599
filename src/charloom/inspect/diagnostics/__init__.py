"""Training dynamics, as numbers and as plots.

hooks.py         statistics of a step through forward/backward hooks, by module type
watch.py         the training callback: diagnostics.jsonl, printed checks, loss guard
checks.py        findings that say what was seen, the cause and the fix
init.py          initialisation through depth (``charloom init-sim``)
plots.py         the lectures' figures as PNGs (matplotlib, optional)
report.py        one self-contained HTML page per run
diagnose.py      ``charloom diagnose RUN``: plots, checks, report
tensorboard.py   scalars to TensorBoard when it is installed
"""
