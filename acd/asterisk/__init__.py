"""Asterisk adapters: AMI client, our FastAGI server, typed AMI/AGI records.

Nothing here depends on the routing engine: the records are translated to core events elsewhere.
"""
