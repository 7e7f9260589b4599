"""The former path of ``charloom.inspect.interpret.samples_timeline``, where code written against the
first releases still finds it: importing this module gives that one."""

import sys

from charloom.inspect.interpret import samples_timeline

sys.modules[__name__] = samples_timeline
