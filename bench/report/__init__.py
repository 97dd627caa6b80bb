"""Outputs built from records: tidy tables (CSV) and RD figures (PNG).

This package is where the BD-rate tables and the HTML report plug in; everything here reads records only,
so it can be rebuilt at any time without recoding.
"""
