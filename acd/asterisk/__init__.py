"""Asterisk adapters: AMI client, our FastAGI server, typed AMI/AGI records, call control.

The protocol modules (errors, ami_codec, ami_events, ami_client, agi_codec, fastagi) do not
depend on the routing engine; call_control translates their records to engine events and runs
the engine's call-control commands on FastAGI sessions.
"""
