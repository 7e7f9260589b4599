"""Style transfer between name generators: a group of per-category runs, seeded with the
start of a name from elsewhere, and measured by a separately trained classifier."""
