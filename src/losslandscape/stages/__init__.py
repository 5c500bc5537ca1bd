"""The workflow's stages as functions from files to files.

The command line (``python -m losslandscape <stage>``) and the Snakemake scripts both call
these, so a stage behaves the same with and without Snakemake. Each reads its inputs, calls
the pure functions of the package and writes its outputs atomically. One module per stage
(``data``, ``train``, ``directions``, ``landscape``, ``sharpness``), plus ``analyze``
(metrics and tables, no torch) and ``figures`` (matplotlib): a job pays only for its own
imports, which are most of a short job's time (torch alone takes 2 s).
"""
