"""The one redaction function every shown URL passes through."""

import pytest

from ragkeeper.core.redaction import redact_url, redact_urls


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@host:8080/v1", "http://***@host:8080/v1"),
        ("https://token@api.example.com/v1/", "https://***@api.example.com/v1/"),
        ("http://user:p%40ss@host/v1", "http://***@host/v1"),
        ("http://user:p@ss@host/v1", "http://***@host/v1"),  # an unescaped @ in the password
        ("http://user:pass@[::1]:8080/api", "http://***@[::1]:8080/api"),
        ("http://host:4200/api", "http://host:4200/api"),
        ("http://host/v1?api-version=2024-02-01", "http://host/v1?api-version=2024-02-01"),
        ("http://host/v1?api_key=abc&api-version=1", "http://host/v1?api_key=***&api-version=1"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ff&X-Amz-Security-Token=t",
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***",
        ),
        (
            "https://acct.blob.core.windows.net/c?sv=2022&sig=abc%3D",
            "https://acct.blob.core.windows.net/c?sv=2022&sig=***",
        ),
        ("https://fn.azurewebsites.net/api/x?code=abc", "https://fn.azurewebsites.net/api/x?code=***"),
        ("https://app/cb#access_token=abc&state=1", "https://app/cb#access_token=***&state=1"),
        ("https://u:p@host?token=t#frag", "https://***@host?token=***#frag"),
        ("http://host/path/with@sign", "http://host/path/with@sign"),  # an @ after the host is no userinfo
        ("s3://bucket/docs/a.md", "s3://bucket/docs/a.md"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redaction_is_idempotent():
    once = redact_url("http://user:pass@host/v1?token=t")
    assert redact_url(once) == once == "http://***@host/v1?token=***"


def test_redact_urls_in_text():
    text = (
        "cannot reach http://gw:SECRET@127.0.0.1:9/v1 for embedding (ConnectError); "
        "Client error for url 'http://u:SECRET2@h/api/logs?token=SECRET3' - see https://docs.example/x"
    )
    assert redact_urls(text) == (
        "cannot reach http://***@127.0.0.1:9/v1 for embedding (ConnectError); "
        "Client error for url 'http://***@h/api/logs?token=***' - see https://docs.example/x"
    )
    assert redact_urls("no url here: user:pass") == "no url here: user:pass"
