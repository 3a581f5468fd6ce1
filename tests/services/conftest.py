"""Fixtures for provider tests: a started fake provider server (``fake_server``)."""

from lionrx.testing.pytest_plugin import fake_server

__all__ = ["fake_server"]
