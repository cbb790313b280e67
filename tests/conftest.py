"Shared test set-up: where the repository and ../shared are."
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent/'shared'

@pytest.fixture
def shared():
    "Path of ../shared/data; skips the test when ../shared is absent (a user's fresh clone)."
    if not (SHARED/'data').exists(): pytest.skip('../shared/data is absent: it is present in CI and beside the project')
    return SHARED/'data'
