import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

# Property tests draw the same examples on every run, so `make test` and CI
# give the same answer for the same code; HYPOTHESIS_PROFILE=explore draws
# new ones (run it when changing the model, and keep any counterexample).
from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
