"""Bjøntegaard deltas: the engine, tables in both conventions, options, ranking, and the curves compared (results folders, imported files, published curves)."""
