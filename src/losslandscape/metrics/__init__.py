"""Metrics of one landscape (minima, smoothness, basins, shape) and of trained models
(sharpness, barriers between models)."""
