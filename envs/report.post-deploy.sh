#!/usr/bin/env bash
# Run by Snakemake inside the new environment after creating it: install this
# repository's package (without dependencies; the environment file pins them).
# Snakemake runs it from the working directory, the repository root for a normal run.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation -e .
