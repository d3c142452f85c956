"""Checking campaigns: replay from the record and its comparison, and the benchmark harness.

The top room: it may use every other.
"""
