"""Which advice a failed AWS call gets follows from how it failed."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    UnauthorizedSSOTokenError,
)

from delivery.cutover.aws import failure_of
from delivery.errors import CallFailure, PortError


def client_error(code: str, status: int) -> ClientError:
    reply = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(reply, "DescribeListeners")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "failure"),
    [
        ("Throttling", 400, CallFailure.TRANSIENT),
        ("TooManyRequestsException", 400, CallFailure.TRANSIENT),
        ("Anything", 429, CallFailure.TRANSIENT),
        ("InternalFailure", 500, CallFailure.TRANSIENT),
        ("ServiceUnavailable", 503, CallFailure.TRANSIENT),
        ("AccessDenied", 403, CallFailure.DENIED),
        ("AccessDeniedException", 400, CallFailure.DENIED),
        ("ExpiredToken", 400, CallFailure.DENIED),
        ("ListenerNotFound", 400, CallFailure.NOT_FOUND),
        ("ParameterNotFound", 400, CallFailure.NOT_FOUND),
        ("ValidationError", 400, CallFailure.OTHER),
    ],
)
def test_an_aws_error_is_classified_by_code_then_status(
    code: str, status: int, failure: CallFailure
) -> None:
    assert failure_of(client_error(code, status)) is failure


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (ReadTimeoutError(endpoint_url="https://x"), CallFailure.TRANSIENT),
        (EndpointConnectionError(endpoint_url="https://x"), CallFailure.TRANSIENT),
        (NoCredentialsError(), CallFailure.NO_CREDENTIALS),
        (
            PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            CallFailure.NO_CREDENTIALS,
        ),
        (UnauthorizedSSOTokenError(), CallFailure.NO_CREDENTIALS),
        (ParamValidationError(report="bad"), CallFailure.OTHER),
    ],
)
def test_a_botocore_error_is_classified_by_type(error: BotoCoreError, failure: CallFailure) -> None:
    assert failure_of(error) is failure


def test_each_kind_of_failure_gets_its_own_advice() -> None:
    advice = {
        kind: PortError("x", kind).advice("ssm:GetParameter", "the path") for kind in CallFailure
    }
    assert "run again in a minute" in advice[CallFailure.TRANSIENT]
    assert advice[CallFailure.DENIED] == "grant ssm:GetParameter to the deploying role"
    assert advice[CallFailure.NO_CREDENTIALS].startswith("no AWS credentials: set AWS_PROFILE")
    assert "grant" not in advice[CallFailure.NO_CREDENTIALS]
    assert advice[CallFailure.NOT_FOUND] == "check the path"
    assert advice[CallFailure.OTHER] == "check the path and the ssm:GetParameter permission"
