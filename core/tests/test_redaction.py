from __future__ import annotations

import logging

import pytest
from servicesync.logs import RedactingFilter, forget_secrets, register_secrets
from servicesync.redaction import MASK, Redactor


def test_redactor_url_masks_path_secret_and_params() -> None:
    redactor = Redactor(["w3bh00kc0de"])

    url = redactor.url(
        "https://u:pw@portal.example/rest/1/w3bh00kc0de/crm.deal.list?auth=tok123&start=0"
    )

    assert (
        url
        == f"https://{MASK}@portal.example/rest/1/{MASK}/crm.deal.list?auth={MASK}&start=0"
    )


def test_redactor_headers_masks_authorization_whatever_its_case() -> None:
    headers = Redactor().headers({"AUTHORIZATION": "Basic abc", "Accept": "json"})

    assert headers == {"AUTHORIZATION": MASK, "Accept": "json"}


def test_redactor_masks_longest_secret_first() -> None:
    redactor = Redactor(["abcdef", "abcdefghij"])

    assert redactor.text("x abcdefghij y") == f"x {MASK} y"


def test_redactor_ignores_very_short_values() -> None:
    assert Redactor(["42"]).text("answer 42") == "answer 42"


@pytest.fixture
def redacting_logger() -> logging.Logger:
    logger = logging.getLogger("servicesync.test.redaction")
    log_filter = RedactingFilter()
    logger.addFilter(log_filter)
    yield logger
    logger.removeFilter(log_filter)
    forget_secrets()


def test_redacting_filter_masks_args_and_tracebacks(
    redacting_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    register_secrets("sup3r-s3cret")

    try:
        raise RuntimeError("token sup3r-s3cret refused")
    except RuntimeError:
        redacting_logger.exception("calling with %s", "sup3r-s3cret")

    assert "sup3r-s3cret" not in caplog.text
    assert caplog.records[0].getMessage() == f"calling with {MASK}"
    assert MASK in (caplog.records[0].exc_text or "")


def test_redactor_masks_an_unregistered_bitrix24_webhook_code() -> None:
    text = Redactor().text("POST https://p.example/rest/12/q1w2e3r4t5/batch -> 401")

    assert text == f"POST https://p.example/rest/12/{MASK}/batch -> 401"
