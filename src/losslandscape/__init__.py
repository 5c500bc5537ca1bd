"""losslandscape: how activation functions shape neural-network loss landscapes.

The science lives in small modules, one concept each: ``archives`` and ``datasets``
(official archives → tensors with a fixed split), ``activations``, ``models`` and
``models_cifar`` (architectures), ``training`` and ``resume`` (checkpoints, history, resuming
after a kill), ``directions`` (the plane's two vectors), ``engine``, ``landscape`` and
``tiles`` (grid evaluation), ``datamodel`` (the netCDF contract), ``minima``,
``smoothness``, ``basins``, ``shape``, ``metrics`` and ``sharpness`` (the measures),
``summary``, ``plot_training`` and ``plot_landscape`` (tables and figures), and ``stages``
(file in, file out: what the command line and the Snakemake scripts call).
"""

__version__ = "0.1.0"
