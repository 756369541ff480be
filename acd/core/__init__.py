"""The pure routing engine: sync, deterministic, no I/O, no asyncio, no logging, injected clock.

Its whole interface is ``Engine.handle(event) -> list[Command]`` plus read-only snapshots.
"""
