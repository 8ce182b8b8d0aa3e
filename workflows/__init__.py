"""Deterministic orchestration: the order's workflow and its contract with the outside."""
