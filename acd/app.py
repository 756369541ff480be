"""Builds the daemon from settings: one TaskGroup, clean shutdown."""
