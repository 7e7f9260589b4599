"""Inspectors: look at the data, at a model while it trains, and inside a trained one.

    stats.py              a corpus's counts, alphabet, lengths, common items
    diagnostics/          training dynamics: hooks, checks, the training watch, plots,
                          the report, ``charloom diagnose`` and ``charloom init-sim``
    interpret/            what units do: capture and discovery, the neuron page,
                          embeddings, samples through training, ``charloom neurons``

Nothing is imported here, so ``charloom data`` stays quick; import the module you need:

>>> from charloom.inspect.diagnostics.diagnose import diagnose      # doctest: +SKIP
>>> from charloom.inspect.diagnostics.checks import check_model     # doctest: +SKIP
"""
