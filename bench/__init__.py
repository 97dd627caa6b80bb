"""lvc-bench: evaluate learned and traditional video codecs through one measurement path.

The package turns a declarative test condition (``conditions/*.yaml``) into jobs (codec x sequence x rate
point), runs each codec to real bitstreams and decoded frames, measures every decoded frame itself, and keeps
one atomic record per job. See README.md for the measurement definitions.
"""

__version__ = "0.1.0"

# Bump when the meaning or layout of a stored record changes, and teach bench.store.migrate to bring the old
# layout forward: results are never thrown away on an upgrade. 2: measurements stored apart from records.
SCHEMA_VERSION = 2
