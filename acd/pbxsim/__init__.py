"""A virtual Asterisk 22: real AMI server, FastAGI client, simulated phones and callers.

It imports nothing from the rest of ``acd``: its AMI/AGI codec is written from recorded traffic, so the
daemon and its simulator cannot share a misunderstanding.
"""
