"""The workflow's stages as functions from files to files.

The command line (``python -m losslandscape <stage>``) and the Snakemake scripts both call
these, so a stage behaves the same with and without Snakemake. Each reads its inputs, calls
the pure functions of the package and writes its outputs atomically. They sit in three
modules by what they import, so a job pays only for its own imports (torch alone takes 2 s):
``compute`` (torch), ``analyze`` (xarray, scikit-image) and ``figures`` (matplotlib).
"""
