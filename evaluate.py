"""Entry point shim: ``python evaluate.py ...`` runs the same function as the ``lvcbench`` console script."""

from bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
