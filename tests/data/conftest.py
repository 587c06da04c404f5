"""Fixtures for the data tests; the helpers live in data_fixtures.py."""
from __future__ import annotations

import pytest

import data_fixtures


@pytest.fixture
def fx():
    """The fixture-writing helpers, as a namespace."""
    return data_fixtures
