"""Checks of an installation and of adapters: ``doctor``, ``selftest`` and the adapter contract."""
