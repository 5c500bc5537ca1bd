"""losslandscape: how activation functions shape neural-network loss landscapes.

The science lives in small modules, one concept each:
``datasets`` (tensors with a fixed split), ``activations`` and ``models`` (architectures),
``training`` (checkpoints and history), ``directions`` (the plane's two vectors),
``landscape`` (grid evaluation), ``datamodel`` (the netCDF contract), ``metrics``
(minima, roughness), ``plotting`` (figures) and ``stages`` (file in, file out; what the
command line and the Snakemake scripts call).
"""

__version__ = "0.1.0"
