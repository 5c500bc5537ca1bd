"""Data sets as tensors: official archives, offline generators, the study's normalization."""
