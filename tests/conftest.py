import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The shared evaluation data sits beside the checkout (../shared); CI has it, clones elsewhere may not.
REAL_DATA = Path(os.environ.get("ALPRKIT_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real evaluation data not found at {REAL_DATA}")
    return REAL_DATA
