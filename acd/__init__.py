"""acd: an automatic call distributor for Asterisk."""

__version__ = "0.1.0"
