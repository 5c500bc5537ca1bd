"""The landscape engine: loss and accuracy at many parameter points, grids and tiles."""
