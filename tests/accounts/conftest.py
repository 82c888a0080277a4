from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "accounts"


@pytest.fixture
def data_dir() -> Path:
    return DATA
