"""Asterisk adapters: AMI client (panoramisk, wrapped), our FastAGI server, AMI/AGI <-> core translation."""
