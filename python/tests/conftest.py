"""Where the repository's fixtures are (NETSURGEON_FIXTURES, set by
tests/pytest.rs; the repository's own fixtures/ otherwise)."""

import os
import pathlib

import pytest

FIXTURES = pathlib.Path(
    os.environ.get("NETSURGEON_FIXTURES") or pathlib.Path(__file__).resolve().parents[2] / "fixtures"
)


@pytest.fixture
def fixtures() -> pathlib.Path:
    return FIXTURES
