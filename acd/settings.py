"""One typed configuration: a TOML file plus ``ACD_*`` environment variables (pydantic-settings)."""
