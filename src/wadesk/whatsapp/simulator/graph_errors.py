"""Graph API errors as Meta renders them: `{"error": {"message", "type", "code", …, "fbtrace_id"}}`."""

from __future__ import annotations

from typing import Any

from .ids import new_fbtrace_id

OAUTH_EXCEPTION = "OAuthException"


class GraphError(Exception):
    """A synchronous Graph API error; the simulator's exception handler renders it as Meta would."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        details: str | None = None,
        http_status: int = 400,
        error_subcode: int | None = None,
        error_type: str = OAUTH_EXCEPTION,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.http_status = http_status
        self.error_subcode = error_subcode
        self.error_type = error_type
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.error_subcode is not None:
            error["error_subcode"] = self.error_subcode
        error.update(self.extra)
        error["fbtrace_id"] = new_fbtrace_id()
        return {"error": error}


def invalid_parameter(details: str, message: str = "(#100) Invalid parameter") -> GraphError:
    return GraphError(100, message, details=details)


def required_parameter(name: str) -> GraphError:
    return GraphError(
        100, f"(#100) The parameter {name} is required.", details=f"The parameter {name} is required."
    )


def unknown_object(object_id: str, method: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        details=f"Object with ID '{object_id}' does not exist.",
        error_subcode=33,
    )


def unknown_path(path: str) -> GraphError:
    return GraphError(2500, f"Unknown path components: {path}")


def missing_token() -> GraphError:
    return GraphError(
        2500, "An active access token must be used to query information about the current user."
    )


def invalid_token() -> GraphError:
    return GraphError(190, "Invalid OAuth access token - Cannot parse access token", http_status=401)


def expired_token() -> GraphError:
    return GraphError(
        190,
        "Error validating access token: Session has expired. The current time is later than the expiry time.",
        http_status=401,
        error_subcode=463,
    )


def rate_limit_hit() -> GraphError:
    return GraphError(
        130429,
        "(#130429) Rate limit hit",
        details="Cloud API message throughput has been reached.",
        error_subcode=2494055,
    )


def template_missing(name: str, language: str) -> GraphError:
    return GraphError(
        132001,
        "(#132001) Template name does not exist in the translation",
        details=f"template name ({name}) does not exist in {language}",
    )


def template_param_count(details: str) -> GraphError:
    return GraphError(
        132000, "(#132000) Number of parameters does not match the expected number of params", details=details
    )


def template_param_format(details: str) -> GraphError:
    return GraphError(
        132012, "(#132012) Parameter format does not match format in the created template", details=details
    )


def template_paused(name: str) -> GraphError:
    return GraphError(
        132015, "(#132015) Template is Paused", details=f"Template {name} is paused due to low quality."
    )


def template_disabled(name: str) -> GraphError:
    return GraphError(
        132016,
        "(#132016) Template is disabled",
        details=f"Template {name} has been disabled due to low quality.",
    )


def media_upload_error(details: str) -> GraphError:
    return GraphError(131053, "(#131053) Media upload error", details=details)


def template_management_error(title: str, user_message: str, *, subcode: int | None = None) -> GraphError:
    """Errors of `/{waba-id}/message_templates`: Meta puts the explanation in `error_user_title`/`_msg`."""
    return GraphError(
        100,
        "Invalid parameter",
        error_subcode=subcode,
        extra={"is_transient": False, "error_user_title": title, "error_user_msg": user_message},
    )
