"""losslandscape: how activation functions shape neural-network loss landscapes.

The package follows the study's stages, one subpackage each:

- ``data``: official archives and offline generators → data sets as tensors;
- ``models``: the activation functions compared and the architectures built with them;
- ``training``: one network per (activation, seed): the loop, checkpoints, resuming;
- ``planes``: plane names and kinds, and the two direction vectors spanning each;
- ``engine``: loss and accuracy at many parameter points (strategies, grids, tiles), with
  its optional CPU fast path in ``engine.cpu``;
- ``metrics``: measures of one landscape (minima, smoothness, basins, shape) and of trained
  models (sharpness, barriers between them);
- ``statistics``: study tables, statistics across seeds and activations, the front page's
  answer;
- ``plots``: the report's figures;
- ``io``: atomic files, plain-data torch files, the netCDF data model, provenance;
- ``stages``: file in, file out: what the command line and the Snakemake scripts call;
- ``cli``: the command line (``python -m losslandscape``), one module per group of commands.

The public API (``losslandscape.random_plane``, ``evaluate``, ``metrics``, ``plot``, …) is
:mod:`losslandscape.api`, exported here on first use. Only shared vocabulary stays at the
top: ``parameters`` (a model's parameters as one flat vector), ``seeding``, ``devices``,
``logs`` and ``codehash`` (what reruns a rule).
"""

import importlib

__version__ = "0.1.0"

# The public API (losslandscape.api), imported on first use: ``import losslandscape`` stays
# free of torch, which planning a workflow run and the light stages must not import.
_API = (
    "Plane",
    "random_plane",
    "pca_plane",
    "three_point_plane",
    "hessian_plane",
    "evaluate",
    "metrics",
    "plot",
    "plot_analysis",
    "open_study",
)
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    """``losslandscape.<name>`` for the API's names (PEP 562); AttributeError otherwise."""
    if name in _API:
        # by name, not an import statement: losslandscape.codehash follows those, and every
        # stage that reads __version__ would depend on the whole API
        return getattr(importlib.import_module("losslandscape.api"), name)
    raise AttributeError(f"module 'losslandscape' has no attribute {name!r}")
