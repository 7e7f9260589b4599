"""The former path of ``charloom.inspect.interpret.neurons``, where code written against the
first releases still finds it: importing this module gives that one."""

import sys

from charloom.inspect.interpret import neurons

sys.modules[__name__] = neurons
