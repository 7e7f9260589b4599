"""Judges: which category does a string sound like?

Two, kept apart on purpose: the likelihood-ratio judge (from the per-category
generators themselves) reranks samples; the n-gram classifier, trained separately,
measures them, so that a reranked sample is never graded by the judge that picked it.
"""
