"""Landscape planes: their kinds and names (``kinds``) and the two direction vectors that span
each kind (``directions``)."""
