"""``charloom serve``: trained runs behind an HTTP API (the Python API's names as JSON
fields) and a web playground, for the optional extra ``charloom[serve]``."""
