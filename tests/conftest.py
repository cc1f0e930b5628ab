"""Test-wide settings: quiet TensorFlow, headless matplotlib, paths to shared data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests never see (or write into) the user's own weights folder ($ZOO_HOME, zoo.home).
os.environ["ZOO_HOME"] = tempfile.mkdtemp(prefix="zoo-test-home-")
atexit.register(shutil.rmtree, os.environ["ZOO_HOME"], ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def gravityspy_dir() -> Path:
    folder = SHARED / "data" / "gravityspy"
    if not folder.is_dir():
        pytest.skip("../shared/data/gravityspy is not present")
    return folder
