"""Landscape planes: their names and the two direction vectors that span each kind."""
