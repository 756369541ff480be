"""Fixtures shared with other test packages."""

from tests.admin.conftest import api  # noqa: F401 (the HTTP API on a real socket)
