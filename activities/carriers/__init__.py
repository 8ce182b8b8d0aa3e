"""Carriers: the interface fulfil ships through, and simulators of two carriers."""
