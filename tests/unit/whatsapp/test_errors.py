from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from wadesk.whatsapp.errors import CATALOGUE, ErrorCategory, GraphApiError, explain

Loader = Callable[[str], Any]


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (130429, ErrorCategory.RATE_LIMITED),
        (131056, ErrorCategory.RATE_LIMITED),
        (4, ErrorCategory.RATE_LIMITED),
        (80007, ErrorCategory.RATE_LIMITED),
        (1, ErrorCategory.TRANSIENT),
        (2, ErrorCategory.TRANSIENT),
        (131000, ErrorCategory.TRANSIENT),
        (131016, ErrorCategory.TRANSIENT),
        (133004, ErrorCategory.TRANSIENT),
        (131057, ErrorCategory.TRANSIENT),
        (131047, ErrorCategory.REENGAGEMENT_REQUIRED),
        (131026, ErrorCategory.RECIPIENT),
        (131049, ErrorCategory.RECIPIENT),
        (131050, ErrorCategory.RECIPIENT),
        (132000, ErrorCategory.TEMPLATE),
        (132001, ErrorCategory.TEMPLATE),
        (132005, ErrorCategory.TEMPLATE),
        (132007, ErrorCategory.TEMPLATE),
        (132012, ErrorCategory.TEMPLATE),
        (132015, ErrorCategory.TEMPLATE),
        (132016, ErrorCategory.TEMPLATE),
        (131052, ErrorCategory.MEDIA),
        (131053, ErrorCategory.MEDIA),
        (190, ErrorCategory.AUTH),
        (0, ErrorCategory.AUTH),
        (10, ErrorCategory.AUTH),
        (200, ErrorCategory.AUTH),
        (131031, ErrorCategory.ACCOUNT),
        (368, ErrorCategory.ACCOUNT),
        (131048, ErrorCategory.ACCOUNT),
        (133010, ErrorCategory.ACCOUNT),
        (100, ErrorCategory.INVALID_REQUEST),
        (131008, ErrorCategory.INVALID_REQUEST),
        (131009, ErrorCategory.INVALID_REQUEST),
        (131051, ErrorCategory.INVALID_REQUEST),
    ],
)
def test_catalogue_puts_each_code_in_its_category(code: int, category: ErrorCategory) -> None:
    entry = explain(code)

    assert entry.code == code
    assert entry.category is category


def test_only_throttling_and_transient_errors_are_retryable() -> None:
    for entry in CATALOGUE.values():
        assert entry.retryable == (entry.category in (ErrorCategory.RATE_LIMITED, ErrorCategory.TRANSIENT))


def test_every_retryable_entry_suggests_a_first_wait() -> None:
    for entry in CATALOGUE.values():
        if entry.retryable:
            assert entry.retry_after_seconds is not None
            assert entry.retry_after_seconds > 0


def test_every_entry_has_a_title_and_an_actionable_explanation() -> None:
    for code, entry in CATALOGUE.items():
        assert entry.code == code
        assert entry.title
        assert entry.explanation.endswith(".")


def test_pair_rate_limit_waits_longer_than_throughput_limit() -> None:
    throughput, pair = explain(130429), explain(131056)

    assert throughput.retry_after_seconds is not None
    assert pair.retry_after_seconds is not None
    assert pair.retry_after_seconds > throughput.retry_after_seconds


def test_closed_window_is_not_retryable_and_suggests_a_template() -> None:
    entry = explain(131047)

    assert not entry.retryable
    assert "template" in entry.explanation


@pytest.mark.parametrize("code", [999999, -1, 42])
def test_unknown_code_is_a_safe_non_retryable_unknown(code: int) -> None:
    entry = explain(code)

    assert entry.category is ErrorCategory.UNKNOWN
    assert not entry.retryable
    assert entry.code == code


def test_missing_code_is_unknown() -> None:
    assert explain(None).category is ErrorCategory.UNKNOWN


def test_whole_permission_block_200_to_299_is_auth() -> None:
    entry = explain(294)

    assert entry.category is ErrorCategory.AUTH
    assert entry.code == 294


# --- GraphApiError --------------------------------------------------------------------------------------------


def test_every_corpus_send_error_parses_into_a_categorised_graph_error(
    send_error_file: str, load_payload: Loader
) -> None:
    body = load_payload(send_error_file)

    error = GraphApiError.from_response(400, body)

    assert error.code == body["error"]["code"]
    assert error.fbtrace_id == body["error"]["fbtrace_id"]
    assert error.category is not ErrorCategory.UNKNOWN
    assert error.http_status == 400


def test_rate_limit_error_is_retryable_with_its_details(load_payload: Loader) -> None:
    error = GraphApiError.from_response(400, load_payload("send_error_130429_rate_limit.json"))

    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retryable
    assert error.subcode == 2494055
    assert error.title == "Rate limit hit"
    assert error.details == "Cloud API message throughput has been reached."
    assert error.error_type == "OAuthException"
    assert error.message == "(#130429) Rate limit hit"


def test_expired_token_error_is_auth_and_keeps_meta_message(load_payload: Loader) -> None:
    error = GraphApiError.from_response(401, load_payload("send_error_190_token_expired.json"))

    assert error.category is ErrorCategory.AUTH
    assert not error.retryable
    assert error.subcode == 463
    assert error.message.startswith("Error validating access token")
    assert error.title == "Access token expired or invalid"


def test_reengagement_error_from_a_send_response(load_payload: Loader) -> None:
    error = GraphApiError.from_response(400, load_payload("send_error_131047_reengagement.json"))

    assert error.category is ErrorCategory.REENGAGEMENT_REQUIRED
    assert error.explanation == explain(131047).explanation


def test_invalid_parameter_error_surfaces_details(load_payload: Loader) -> None:
    error = GraphApiError.from_response(400, load_payload("send_error_100_invalid_parameter.json"))

    assert error.category is ErrorCategory.INVALID_REQUEST
    assert error.details == "Message must be a template message."
    assert "Message must be a template message." in str(error)


def test_error_body_is_parsed_from_raw_bytes(load_payload: Loader) -> None:
    raw = b'{"error": {"message": "(#131056) pair", "code": 131056, "fbtrace_id": "T"}}'

    error = GraphApiError.from_response(400, raw)

    assert error.code == 131056
    assert error.retryable


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_without_graph_body_is_transient_and_retryable(status: int) -> None:
    error = GraphApiError.from_response(status, b"<html>Bad gateway</html>")

    assert error.code is None
    assert error.category is ErrorCategory.TRANSIENT
    assert error.retryable
    assert error.http_status == status


def test_unknown_code_on_a_server_error_is_still_retryable() -> None:
    error = GraphApiError.from_response(503, {"error": {"message": "x", "code": 987654}})

    assert error.code == 987654
    assert error.category is ErrorCategory.TRANSIENT
    assert error.retryable


def test_known_permanent_code_wins_over_http_status() -> None:
    error = GraphApiError.from_response(500, {"error": {"message": "(#100) Invalid parameter", "code": 100}})

    assert error.category is ErrorCategory.INVALID_REQUEST
    assert not error.retryable


def test_http_429_without_code_is_rate_limited() -> None:
    assert GraphApiError.from_response(429, b"").category is ErrorCategory.RATE_LIMITED


def test_http_401_without_code_is_auth() -> None:
    assert GraphApiError.from_response(401, None).category is ErrorCategory.AUTH


def test_plain_client_error_without_code_is_unknown_and_permanent() -> None:
    error = GraphApiError.from_response(400, b"nope")

    assert error.category is ErrorCategory.UNKNOWN
    assert not error.retryable


def test_is_transient_flag_makes_any_error_retryable() -> None:
    error = GraphApiError.from_response(400, {"error": {"message": "x", "code": 100, "is_transient": True}})

    assert error.is_transient
    assert error.retryable


@pytest.mark.parametrize(
    "error_object",
    [
        {},
        {"code": "not-a-number"},
        {"code": True, "message": 5},
        {"code": "131047", "error_data": "plain details"},
        {"error_data": ["x"], "error_subcode": {}},
    ],
)
def test_odd_error_objects_never_raise_while_parsing(error_object: dict[str, Any]) -> None:
    error = GraphApiError.from_response(400, {"error": error_object})

    assert isinstance(error, GraphApiError)
    assert str(error)


def test_string_code_is_understood() -> None:
    error = GraphApiError.from_response(400, {"error": {"code": "131047", "error_data": "plain details"}})

    assert error.code == 131047
    assert error.details == "plain details"


def test_connection_failure_is_retryable_and_certainly_not_delivered() -> None:
    error = GraphApiError.from_transport_error(httpx.ConnectError("refused"))

    assert error.category is ErrorCategory.TRANSIENT
    assert error.retryable
    assert not error.outcome_unknown
    assert error.http_status is None


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.ReadError("reset"), httpx.RemoteProtocolError("closed")]
)
def test_failure_after_the_request_was_sent_marks_the_outcome_unknown(exc: httpx.TransportError) -> None:
    error = GraphApiError.from_transport_error(exc)

    assert error.retryable
    assert error.outcome_unknown


def test_str_names_code_status_title_and_trace(load_payload: Loader) -> None:
    text = str(GraphApiError.from_response(400, load_payload("send_error_130429_rate_limit.json")))

    assert "130429" in text
    assert "HTTP 400" in text
    assert "Rate limit hit" in text
    assert "Az8or2yhqkZfEZ-_4Qn_Bam" in text
