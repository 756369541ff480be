"""Discrete-event what-if simulator over ``acd.core`` only."""
