"""Assemble a real documentation corpus from Debian packages, for `make bench-peer` (stdlib only).

The documents are documentation that Debian ships (SQLite, Python, Debian Policy, the Debian FAQ and
references, bash): mostly HTML, a few PDFs, and plain texts without an extension (README, NEWS,
changelog, copyright). Packages are fetched by name with `apt-get download` (the machine's configured
apt sources; `apt-get update` first on a fresh machine) and unpacked with `dpkg-deb -x`. The selection
is deterministic: fixed patterns, sorted paths, fixed caps; `.gz` documents are gunzipped.

The corpus is cached in ~/.cache/ragkeeper/corpus/<name>/ with a manifest <name>.json beside it
(packages, versions, sha256 of each .deb, counts); when the manifest exists, re-running only prints it.

    python benchmarks/real_corpus.py                 # assemble (or reuse) and print what it holds
    python benchmarks/real_corpus.py --fixtures tests/fixtures/realdocs   # also copy the test sample
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NAME = "debian-docs-1"  # bump when the selection below changes, so a stale cache is never reused


@dataclass(frozen=True)
class Pick:
    """Files of one package: a glob under the unpacked package, at most `cap` of them in sorted order."""

    package: str
    pattern: str
    cap: int = 10_000


PICKS = (
    Pick("sqlite3-doc", "usr/share/doc/sqlite3/*.html"),
    Pick("sqlite3-doc", "usr/share/doc/sqlite3/c3ref/*.html", cap=20),
    Pick("sqlite3-doc", "usr/share/doc/sqlite3/copyright-release.pdf"),
    Pick("python3.11-doc", "usr/share/doc/python3.11/html/howto/*.html"),
    Pick("python3.11-doc", "usr/share/doc/python3.11/html/tutorial/*.html"),
    Pick("python3.11-doc", "usr/share/doc/python3.11/html/library/*.html", cap=40),
    Pick("debian-policy", "usr/share/doc/debian-policy/**/*.html"),
    Pick("debian-policy", "usr/share/doc/debian-policy/fhs/fhs-3.0.pdf.gz"),
    Pick("debian-faq", "usr/share/doc/debian/FAQ/*.html"),
    Pick("debian-faq", "usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz"),
    Pick("debian-reference-en", "usr/share/debian-reference/*.html"),
    Pick("developers-reference", "usr/share/developers-reference/*.html"),
    Pick("bash-doc", "usr/share/doc/bash/*.html"),
    Pick("bash-doc", "usr/share/doc/bash/bash.pdf"),
    Pick("bash-doc", "usr/share/doc/bash/examples/bash-completion/README"),
    Pick("gnuplot-doc", "usr/share/doc/gnuplot/README.gz"),
    Pick("gnuplot-doc", "usr/share/doc/gnuplot/NEWS.gz"),
    Pick("gnuplot-doc", "usr/share/doc/gnuplot/BUGS"),
    Pick("gnuplot-doc", "usr/share/doc/gnuplot/examples/plugin/README"),
    *(Pick(p, f"usr/share/doc/{p}/changelog.gz") for p in ("bash-doc", "debian-faq", "debian-policy")),
    *(Pick(p, f"usr/share/doc/{p}/changelog.gz") for p in ("debian-reference-en", "developers-reference")),
    Pick("sqlite3-doc", "usr/share/doc/sqlite3-doc/changelog.gz"),
)
PACKAGES = tuple(sorted({pick.package for pick in PICKS}))

# The small sample copied into the tests: (corpus-relative path, license from the package's copyright).
PSF = "PSF License (Python 3.11 documentation)"
VERBATIM = "permission notice: verbatim and modified copies (see copyright)"
GNUPLOT = "gnuplot license: copies with the notice (see copyright)"
QUARANTINED = "a good document that ragkeeper's quality gate quarantined (make bench-peer)"
FIXTURE_SAMPLE = (  # (path, license, note)
    ("sqlite3-doc/doc/sqlite3/datatype3.html", "public domain", ""),
    ("sqlite3-doc/doc/sqlite3/copyright-release.pdf", "public domain", ""),
    ("sqlite3-doc/doc/sqlite3/capi3ref.html", "public domain", QUARANTINED),
    ("sqlite3-doc/doc/sqlite3/session.html", "public domain", QUARANTINED),
    ("python3.11-doc/doc/python3.11/html/howto/sorting.html", PSF, ""),
    ("python3.11-doc/doc/python3.11/html/tutorial/errors.html", PSF, ""),
    ("debian-faq/doc/debian/FAQ/basic-defs.en.html", VERBATIM, ""),
    ("debian-faq/doc/debian/FAQ/debian-faq.en.pdf", VERBATIM, QUARANTINED),
    ("bash-doc/doc/bash/examples/bash-completion/README", "GPL-3+", ""),
    ("gnuplot-doc/doc/gnuplot/BUGS", GNUPLOT, ""),
    ("gnuplot-doc/doc/gnuplot/README", GNUPLOT, ""),
)


def corpus_root() -> Path:
    """Folder holding the cached corpora and downloaded packages."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ragkeeper" / "corpus"


def kind_of(name: str) -> str:
    """html, pdf, text (no extension) or other, by the file name."""
    suffix = Path(name).suffix.lower()
    if suffix in (".html", ".htm"):
        return "html"
    if suffix == ".pdf":
        return "pdf"
    return "text" if not suffix else "other"


def download(packages: tuple[str, ...], debs: Path) -> dict[str, Path]:
    """The .deb of each package, fetched with `apt-get download` unless already cached."""
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if not sorted(debs.glob(f"{p}_*.deb"))]
    if missing:
        print(f"apt-get download {' '.join(missing)}", flush=True)
        done = subprocess.run(
            ["apt-get", "download", "-q", *missing], cwd=debs, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            sys.exit(f"error: apt-get download failed ({reason}); run `apt-get update` first")
    return {p: sorted(debs.glob(f"{p}_*.deb"))[-1] for p in packages}


def select(unpacked: Path, pick: Pick) -> list[Path]:
    """Regular files (no symlinks) matching the pick, sorted, capped."""
    found = sorted(p for p in unpacked.glob(pick.pattern) if p.is_file() and not p.is_symlink())
    if not found:
        sys.exit(f"error: {pick.package} has no {pick.pattern} (a new package version?)")
    return found[: pick.cap]


def target_name(package: str, unpacked: Path, path: Path) -> str:
    """Corpus-relative name: package/<path under usr/share>, without a .gz suffix."""
    relative = path.relative_to(unpacked / "usr" / "share").as_posix()
    return f"{package}/{relative.removesuffix('.gz')}"


def copy_document(source: Path, target: Path) -> None:
    """Copy one document, gunzipping a .gz one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".gz":
        target.write_bytes(gzip.decompress(source.read_bytes()))
    else:
        shutil.copyfile(source, target)


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def deb_version(deb: Path) -> str:
    """The Version field of a .deb."""
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def summarize(folder: Path) -> dict[str, dict[str, int]]:
    """Files and bytes per kind, and in total."""
    totals: dict[str, dict[str, int]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for key in (kind_of(path.name), "total"):
            entry = totals.setdefault(key, {"files": 0, "bytes": 0})
            entry["files"] += 1
            entry["bytes"] += path.stat().st_size
    return totals


def assemble(root: Path) -> Path:
    """Build the corpus folder (into a temporary folder, renamed when complete) and its manifest."""
    folder, manifest = root / NAME, root / f"{NAME}.json"
    if folder.is_dir() and manifest.is_file():
        return folder
    debs = download(PACKAGES, root / "debs")
    partial = Path(tempfile.mkdtemp(prefix=f"{NAME}.partial.", dir=root))
    with tempfile.TemporaryDirectory(prefix="unpacked-", dir=root) as scratch:
        for package in PACKAGES:
            unpacked = Path(scratch) / package
            subprocess.run(["dpkg-deb", "-x", str(debs[package]), str(unpacked)], check=True)
            for pick in (p for p in PICKS if p.package == package):
                for path in select(unpacked, pick):
                    copy_document(path, partial / target_name(package, unpacked, path))
            copyright_file = unpacked / "usr" / "share" / "doc" / package / "copyright"
            copy_document(copyright_file, partial / package / "copyright")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    packages = {p: {"version": deb_version(debs[p]), "sha256": sha256(debs[p])} for p in PACKAGES}
    record = {"name": NAME, "packages": packages, "summary": summarize(folder)}
    manifest.write_text(json.dumps(record, indent=2) + "\n")
    return folder


def write_fixtures(corpus: Path, target: Path) -> None:
    """Copy FIXTURE_SAMPLE and each sampled package's copyright into `target`, with a README."""
    manifest = json.loads((corpus.parent / f"{NAME}.json").read_text())
    shutil.rmtree(target, ignore_errors=True)
    rows = []
    for name, license_name, note in FIXTURE_SAMPLE:
        copy_document(corpus / name, target / name)
        package = name.split("/", 1)[0]
        version = manifest["packages"][package]["version"]
        rows.append(f"| `{name}` | {package} {version} | {license_name} | {note} |")
    for package in sorted({name.split("/", 1)[0] for name, *_ in FIXTURE_SAMPLE}):
        copy_document(corpus / package / "copyright", target / package / "copyright")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    lines = [
        "# Real documents (not written here)",
        "",
        "Documentation shipped in Debian 12 packages, copied by `python benchmarks/real_corpus.py "
        "--fixtures tests/fixtures/realdocs` from the corpus of `make bench-peer`. Each package's "
        "Debian copyright file is beside its documents (`<package>/copyright`); the paths below are "
        "the package's files under `/usr/share` (`.gz` documents gunzipped). This README is not one of "
        'the documents: exclude it when ingesting the folder (`source.exclude = ["README.md"]`).',
        "",
        "| file | Debian package | license | note |",
        "|---|---|---|---|",
        *rows,
        "",
        f"{len(rows)} documents, {size:,} bytes with the copyright files.",
        "",
    ]
    (target / "README.md").write_text("\n".join(lines))
    print(f"fixtures: {len(rows)} documents into {target} ({size:,} bytes)")


def print_summary(folder: Path) -> None:
    """Print the corpus location, its packages and counts by kind."""
    manifest = json.loads((folder.parent / f"{NAME}.json").read_text())
    print(f"corpus {NAME}: {folder}")
    print("packages: " + ", ".join(f"{p} {v['version']}" for p, v in manifest["packages"].items()))
    summary = manifest["summary"]
    for kind in (k for k in ("html", "pdf", "text", "other", "total") if k in summary):
        print(f"  {kind:6} {summary[kind]['files']:5} files {summary[kind]['bytes'] / 1e6:8.1f} MB")


def main() -> None:
    """Assemble (or reuse) the corpus, print it, optionally write the test sample."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--fixtures", type=Path, help="also copy the small test sample into this folder")
    args = parser.parse_args()
    root = corpus_root()
    root.mkdir(parents=True, exist_ok=True)
    folder = assemble(root)
    print_summary(folder)
    if args.fixtures:
        write_fixtures(folder, args.fixtures)


if __name__ == "__main__":
    main()
