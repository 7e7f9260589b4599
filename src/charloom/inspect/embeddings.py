"""The former path of ``charloom.inspect.interpret.embeddings``, where code written against the
first releases still finds it: importing this module gives that one."""

import sys

from charloom.inspect.interpret import embeddings

sys.modules[__name__] = embeddings
