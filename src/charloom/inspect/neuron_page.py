"""The former path of ``charloom.inspect.interpret.neuron_page``, where code written against the
first releases still finds it: importing this module gives that one."""

import sys

from charloom.inspect.interpret import neuron_page

sys.modules[__name__] = neuron_page
