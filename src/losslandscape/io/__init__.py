"""Files: atomic writes, plain-data torch files, the netCDF data model, provenance."""
