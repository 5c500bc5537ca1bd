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

Only shared vocabulary stays at the top: ``parameters`` (a model's parameters as one flat
vector), ``seeding``, ``devices``, ``logs`` and ``codehash`` (what reruns a rule).
"""

__version__ = "0.1.0"
