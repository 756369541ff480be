"""Asterisk adapters: AMI client, our FastAGI server, typed AMI/AGI records, call legs.

The protocol modules (errors, ami_codec, ami_events, ami_client, agi_codec, fastagi) do not
depend on the routing engine. ``call_leg`` is one caller's leg as a pure transition table; the
thin shells around it are named for their wire: ``agi_calls`` (FastAGI sessions, the runtime's
``CallControl`` port), ``ami_translate`` (AMI records), ``feature_codes`` (advisors' codes) and
``prompts`` (what a waiting caller hears).
"""
