"""Metrics of one landscape (minima, smoothness, basins, shape) and of trained models
(sharpness, barriers between models).

The package is also the public API's ``losslandscape.metrics(grid)``
(:func:`losslandscape.api.metrics`): once this subpackage is imported, Python binds it as
the attribute ``losslandscape.metrics``, which would hide the API's function; calling the
module therefore calls that function.
"""

import importlib
import sys
import types


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`losslandscape.api.metrics`."""

    def __call__(self, grid, variable=None, **options):
        # looked up by name, not imported: the API uses the stages' modules, not the other
        # way round, and losslandscape.codehash (what reruns a rule) follows import
        # statements, so a stage importing this package would depend on the whole API
        api = importlib.import_module("losslandscape.api")
        return api.metrics(grid, variable, **options)


sys.modules[__name__].__class__ = _CallableModule
