import json

from ragkeeper.core.retrain.style_dataset import dataset_fingerprint, parse_dataset
from tests.support.style_datasets import example, jsonl, valid_dataset

CONFIG = {"base_model": "gpt-4o-mini-2024-07-18", "n_epochs": None, "suffix": None}


def fingerprint(training: bytes, validation: bytes | None = None, **config) -> str:
    return dataset_fingerprint(
        parse_dataset(training), parse_dataset(validation) if validation else None, {**CONFIG, **config}
    )


def test_formatting_does_not_change_the_fingerprint():
    plain = valid_dataset(12)
    reformatted = (
        b"\xef\xbb\xbf"
        + b"\r\n\r\n".join(
            json.dumps(example(n), sort_keys=True, indent=None, separators=(" , ", " : ")).encode()
            for n in range(12)
        )
        + b"\n\n"
    )
    assert fingerprint(plain) == fingerprint(reformatted)


def test_content_order_validation_and_training_settings_change_the_fingerprint():
    base = fingerprint(valid_dataset(12))
    assert fingerprint(valid_dataset(13)) != base
    assert fingerprint(jsonl([example(n) for n in reversed(range(12))])) != base
    assert fingerprint(valid_dataset(12), jsonl([example(50)])) != base
    assert fingerprint(valid_dataset(12), base_model="gpt-4.1-mini-2025-04-14") != base
    assert fingerprint(valid_dataset(12), n_epochs=3) != base
    assert len(base) == 64 and int(base, 16) >= 0


def test_lines_keep_their_numbers_and_errors():
    parsed = parse_dataset(b'{"a": 1}\n\n  \n{oops\n"\xff"\n[1]\n')
    assert [(line.number, line.error is None) for line in parsed.lines] == [
        (1, True),
        (4, False),
        (5, False),
        (6, True),
    ]
    assert parsed.lines[1].error is not None and parsed.lines[1].error.startswith("not valid JSON")
    assert parsed.lines[2].error == "not valid UTF-8 (byte 2 of the line)"
    assert parsed.normalised.startswith(b'{"a":1}\n{oops\n')


def test_the_upload_is_the_normalised_content():
    parsed = parse_dataset(b'{ "messages" : [ ], "z": "\\u00e9" }\r\n')
    assert parsed.normalised == '{"messages":[],"z":"é"}\n'.encode()


def test_lines_that_would_not_survive_normalising_are_errors():
    # Each would upload something else than what was checked: JSON's non-values, a number that
    # becomes infinity, a key whose first value the canonical form would drop, an unpaired surrogate.
    parsed = parse_dataset(b'{"a": NaN}\n{"a": 1e400}\n{"a": 1, "a": 2}\n{"a": "\\ud800"}\n')
    assert [line.error for line in parsed.lines] == [
        "not valid JSON: NaN is not a JSON value",
        "not valid JSON: a number is out of range",
        "not valid JSON: key 'a' appears twice in one object",
        "not valid UTF-8: a \\u escape is an unpaired surrogate",
    ]
    assert all(line.value is None for line in parsed.lines)
