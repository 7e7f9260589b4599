"""The former path of ``charloom.inspect.diagnostics.checks``, where code written against the
first releases still finds it: importing this module gives that one."""

import sys

from charloom.inspect.diagnostics import checks

sys.modules[__name__] = checks
