"""``python -m bench`` is the same as ``lvcbench`` and ``python evaluate.py``."""

from bench.cli import main

raise SystemExit(main())
