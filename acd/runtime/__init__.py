"""asyncio plumbing: one inbox, one dispatcher task owning the engine, timers, ports (Protocols)."""
