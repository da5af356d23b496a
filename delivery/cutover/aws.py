"""boto3 implementations of the engine's ports, and the SNS and SSM adapters around them.

Throttling and transient faults are retried by botocore's ``standard`` retry mode, within a
budget: one call, every attempt and back-off included, ends within ``CallBudget.seconds`` (the
poll interval for the listener and the alarms), or one attempt at the read-timeout floor if
that is longer, so a failing API can blind the engine for at most one poll and a second before
it rolls back. What still fails becomes a ``PortError`` naming the
operation and AWS's error code.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from botocore.retries import quota, standard

from delivery.config.model import Colour, TrafficPolicy
from delivery.cutover.alerts import AlertMessage
from delivery.cutover.clock import SystemClock
from delivery.cutover.engine import Cutover
from delivery.cutover.errors import ListenerDrift, UnusableRecord
from delivery.cutover.events import Observer
from delivery.cutover.ports import Alarms, AlarmState, AlarmValue, Clock
from delivery.cutover.records import RollbackRecord
from delivery.errors import CallFailure, PortError
from delivery.plans.schedule import Weights

T = TypeVar("T")
DESCRIBE_ALARMS_BATCH = 100  # AWS accepts at most 100 names per DescribeAlarms call
DEFAULT_MAX_ATTEMPTS: Final = 6
MAX_CONNECT_SECONDS: Final = 2.0
MAX_READ_SECONDS: Final = 5.0
MIN_READ_SECONDS: Final = 1.0  # a slow but healthy answer is not a failure (CallBudget)
MAX_BACKOFF_SECONDS: Final = 20.0  # botocore's own cap
# The listener and alarm calls on the cutover's path: a twice-throttled rollback call must
# still land within 2.5 s at any poll interval.
CUTOVER_BACKOFF_SECONDS: Final = 0.5
_STARTED = "switchyard-call-started"


@dataclass
class ApiCalls:
    """Counts calls per operation: ``calls`` as the code made them, ``attempts`` on the wire."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-send", self._on_attempt)
        events.register("after-call", self._on_call)

    def _on_attempt(self, event_name: str = "", **_: Any) -> None:
        self.attempts[event_name.rsplit(".", 1)[-1]] += 1

    def _on_call(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.calls[model.name] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "attempts": dict(self.attempts)}


@dataclass(frozen=True)
class CallBudget:
    """How long one API call may take, every attempt and back-off included.

    Each attempt gets a connect timeout of an eighth of the budget and a read timeout of a
    quarter (capped at 2 s and 5 s), so several attempts fit; a retry is made only if its
    back-off and a whole further attempt still fit. The read timeout is never below
    ``MIN_READ_SECONDS``: a busy but healthy DescribeAlarms of 100 alarms takes ~400 ms, and a
    shorter wait would read it as blind and roll back a healthy release. Where the floor lengthens
    an attempt, the call may run longer by what it added: one call ends within ``ceiling``, at
    most ``seconds + MIN_READ_SECONDS``, which keeps the engine's bound, blind time at most
    2 x the poll interval + 1 s.
    """

    seconds: float
    max_connect: float = MAX_CONNECT_SECONDS
    max_read: float = MAX_READ_SECONDS
    backoff_cap: float = MAX_BACKOFF_SECONDS

    @classmethod
    def per_poll(cls, poll_seconds: float) -> CallBudget:
        """The budget of a call on the cutover's path: one poll interval, short back-offs."""
        return cls(float(poll_seconds), backoff_cap=CUTOVER_BACKOFF_SECONDS)

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError(f"a call budget must be positive, got {self.seconds}")

    @property
    def connect_timeout(self) -> float:
        return min(self.max_connect, self.seconds / 8)

    @property
    def read_timeout(self) -> float:
        return min(self.max_read, max(MIN_READ_SECONDS, self.seconds / 4))

    @property
    def attempt_seconds(self) -> float:
        """The longest one attempt can take: connecting, then waiting for the answer."""
        return self.connect_timeout + self.read_timeout

    @property
    def ceiling(self) -> float:
        """When the call must have ended: the budget, plus what the read-timeout floor added
        to an attempt (so a short budget still allows a retry after a throttle)."""
        return self.seconds + self.read_timeout - min(self.max_read, self.seconds / 4)

    @property
    def max_backoff(self) -> float:
        return min(self.backoff_cap, self.seconds / 4)


DEFAULT_BUDGET: Final = CallBudget(10.0)
NOTIFY_BUDGET: Final = CallBudget(10.0)  # SNS and SSM: after the traffic is safe, not on its path
# EC2 builds the emulator's network only; moto's first EC2 call loads its data for seconds.
SETUP_BUDGET: Final = CallBudget(300.0, max_connect=10.0, max_read=120.0)


class RetryWithinBudget:
    """botocore's standard retry decisions, stopped where the next attempt would overrun.

    Registered first on the client's ``needs-retry`` event, so its answer (a delay, or False
    for "no retry") is the one botocore acts on; botocore's own handler is never consulted.
    Back-offs are slept on the injected clock (the engine's), so tests see them in virtual
    time; botocore then retries at once.
    """

    def __init__(self, budget: CallBudget, max_attempts: int, clock: Clock) -> None:
        self._budget = budget
        self._max_attempts = max_attempts
        self._clock = clock

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        adapter = standard.RetryEventAdapter()
        detector = standard.ThrottlingErrorDetector(adapter)
        retry_quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
        self._standard = standard.RetryHandler(
            retry_policy=standard.RetryPolicy(
                retry_checker=standard.StandardRetryConditions(max_attempts=self._max_attempts),
                retry_backoff=standard.ExponentialBackoff(
                    max_backoff=self._budget.max_backoff,  # type: ignore[arg-type]  # a float works
                    service_name=service,
                    throttling_detector=detector,
                ),
            ),
            retry_event_adapter=adapter,
            retry_quota=retry_quota,  # type: ignore[arg-type]  # the stubs name the wrong class
            service_name=service,
        )
        events = client.meta.events
        events.register(f"before-call.{service}", self._start)
        events.register_first(f"needs-retry.{service}", self._needs_retry)
        events.register(f"after-call.{service}", retry_quota.release_retry_quota)

    def _start(self, context: dict[str, Any], **_: Any) -> None:
        context[_STARTED] = self._clock.now()

    def _needs_retry(self, request_dict: dict[str, Any], **kwargs: Any) -> float | bool:
        delay = self._standard.needs_retry(request_dict=request_dict, **kwargs)
        if delay is None or delay is False:
            return False
        started = request_dict.get("context", {}).get(_STARTED, self._clock.now())
        elapsed = self._clock.now() - started
        if elapsed + delay + self._budget.attempt_seconds > self._budget.ceiling:
            return False
        self._clock.sleep(delay)
        return 0.0


@dataclass(frozen=True)
class AwsClients:
    elbv2: Any
    cloudwatch: Any
    ec2: Any
    sns: Any
    ssm: Any


def make_clients(
    region: str,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    counter: ApiCalls | None = None,
    session: boto3.session.Session | None = None,
    budget: CallBudget = DEFAULT_BUDGET,
    clock: Clock | None = None,
) -> AwsClients:
    """Clients with botocore's standard retry mode, each call held within its budget.

    ``budget`` bounds the listener and alarm calls (pass the poll interval); SNS and SSM get
    ``NOTIFY_BUDGET``. Back-offs sleep on ``clock`` (default: the real one).
    """
    session = session or _default_session()
    clock = clock or SystemClock()

    def client(service: str, within: CallBudget) -> Any:
        config = Config(
            region_name=region,
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=within.connect_timeout,
            read_timeout=within.read_timeout,
        )
        made = session.client(service, config=config, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        RetryWithinBudget(within, max_attempts, clock).attach(made)
        if counter is not None:
            counter.attach(made)
        return made

    return AwsClients(
        elbv2=client("elbv2", budget),
        cloudwatch=client("cloudwatch", budget),
        ec2=client("ec2", SETUP_BUDGET),
        sns=client("sns", NOTIFY_BUDGET),
        ssm=client("ssm", NOTIFY_BUDGET),
    )


@functools.cache
def _default_session() -> boto3.session.Session:
    """One session per process: it loads the service models once, so clients cost
    milliseconds (a provider operation makes five)."""
    return boto3.session.Session()


def call(operation: Callable[..., T], **kwargs: Any) -> T:
    try:
        return operation(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        name = exc.operation_name
        status = _status(exc)
        raise PortError(
            f"{name} failed: {error.get('Code', '?')}: {error.get('Message', exc)}",
            failure_of(exc),
            rejected=400 <= status < 500,
        ) from exc
    except BotoCoreError as exc:
        raise PortError(f"AWS call failed: {exc}", failure_of(exc)) from exc


_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "KMSAccessDeniedException",
    }
)


_NO_CREDENTIALS: Final = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)


def failure_of(error: ClientError | BotoCoreError) -> CallFailure:
    """The kind of a failed call: the error code first, then the HTTP status; for botocore's
    own errors, timeouts and lost connections are transient, and no credentials (none found,
    partial, or an expired SSO session) are their own kind."""
    if isinstance(error, BotoCoreError):
        if isinstance(error, BotoConnectionError | HTTPClientError):
            return CallFailure.TRANSIENT
        if isinstance(error, _NO_CREDENTIALS):
            return CallFailure.NO_CREDENTIALS
        return CallFailure.OTHER
    code = _code(error)
    status = _status(error)
    if code in _THROTTLING or status == 429 or status >= 500:
        return CallFailure.TRANSIENT
    if code in _DENIED or status == 403:
        return CallFailure.DENIED
    if code.endswith(("NotFound", "NotFoundException")) or status == 404:
        return CallFailure.NOT_FOUND
    return CallFailure.OTHER


class ElbListener:
    """The production listener's default actions over the blue and green target groups.

    Only the forward action's weights are Switchyard's: every other default action (an
    ``authenticate-oidc`` or ``authenticate-cognito`` before the forward), each action's
    ``Order`` and the forward's stickiness are written back as they were read.
    """

    def __init__(self, elbv2: Any, listener_arn: str, target_groups: Mapping[Colour, str]) -> None:
        self._elbv2 = elbv2
        self._arn = listener_arn
        self._groups = dict(target_groups)
        self._actions: list[dict[str, Any]] | None = None

    def read_weights(self) -> Weights:
        found = call(self._elbv2.describe_listeners, ListenerArns=[self._arn])["Listeners"]
        if not found:
            raise PortError(
                f"listener {self._arn} does not exist",
                CallFailure.NOT_FOUND,
            )
        actions = list(found[0].get("DefaultActions", []))
        self._actions = None  # a listener that cannot be read is never rewritten from memory
        weights = self._weights(self._forward(actions))
        self._actions = actions
        return weights

    def set_weights(self, weights: Weights) -> None:
        """One ModifyListener call with every default action, the forward's weights changed.

        The actions are those of the last read (the engine reads before each step), so a
        rollback costs one call.
        """
        if self._actions is None:
            self.read_weights()
        assert self._actions is not None
        actions = [self._rewritten(action, weights) for action in self._actions]
        try:
            call(self._elbv2.modify_listener, ListenerArn=self._arn, DefaultActions=actions)
        except PortError:
            # The listener may change while calls fail (an on-call's maintenance page): the
            # next write reads it first rather than send what it held before.
            self._actions = None
            raise

    def _forward(self, actions: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
        forwards = [a for a in actions if a.get("Type") == "forward"]
        if len(forwards) != 1:
            kinds = ", ".join(str(a.get("Type")) for a in actions) or "none"
            raise ListenerDrift(
                f"listener {self._arn} has default actions [{kinds}] and no single forward "
                "action to both the blue and the green target group; Switchyard needs one "
                "forward action naming both. Restore it on the listener, then run again"
            )
        return forwards[0]

    def _weights(self, forward: Mapping[str, Any]) -> Weights:
        """The forward's weights as percentages. ELB weights are relative, so a forward to one
        of the two groups only (how the console restores a colour by hand), or with the other
        group at 0, sends all traffic to that group."""
        config = forward.get("ForwardConfig") or {}
        groups = config.get("TargetGroups") or [{"TargetGroupArn": forward.get("TargetGroupArn")}]
        weights = {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
        colour_of = {arn: colour for colour, arn in self._groups.items()}
        carrying = [colour_of.get(arn) for arn, weight in weights.items() if weight > 0]
        if len(carrying) == 1 and carrying[0] is not None and set(weights) <= set(colour_of):
            return Weights.all_on(carrying[0])
        if set(weights) != set(self._groups.values()):
            raise ListenerDrift(
                f"listener {self._arn} forwards to {sorted(weights)}, not to exactly the blue "
                f"and green target groups {sorted(self._groups.values())}; restore the forward "
                "action over both groups"
            )
        by_colour = {colour: weights[arn] for colour, arn in self._groups.items()}
        try:
            return Weights.from_mapping(by_colour)
        except ValueError as exc:
            raise ListenerDrift(
                f"listener {self._arn} weights blue={by_colour[Colour.BLUE]} "
                f"green={by_colour[Colour.GREEN]} are not percentages summing to 100; set them "
                "to 100/0 for the live colour"
            ) from exc

    def _rewritten(self, action: Mapping[str, Any], weights: Weights) -> dict[str, Any]:
        rewritten = copy.deepcopy(dict(action))
        if rewritten.get("Type") == "forward":
            config = rewritten.setdefault("ForwardConfig", {})
            weight_of = {arn: weights.of(colour) for colour, arn in self._groups.items()}
            config["TargetGroups"] = [
                {"TargetGroupArn": arn, "Weight": weight_of[arn]} for arn in weight_of
            ]
            # AWS rejects a TargetGroupArn beside a ForwardConfig naming more than one group.
            rewritten.pop("TargetGroupArn", None)
        oidc = rewritten.get("AuthenticateOidcConfig")
        if oidc is not None:
            # AWS never returns the client secret; ModifyListener keeps it only when told to.
            oidc.pop("ClientSecret", None)
            oidc["UseExistingClientSecret"] = True
        return rewritten


def _batches(names: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


def _entered_state(alarm: Mapping[str, Any]) -> datetime | None:
    """When the alarm's StateValue last changed. DescribeAlarms (botocore's cloudwatch
    2010-08-01 model) gives StateTransitionedTimestamp for that and StateUpdatedTimestamp for
    the last change of StateValue or EvaluationState, which is never earlier; moto 5.2 returns
    only the latter, so it is the fallback."""
    moment = alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
    return moment.astimezone(UTC) if isinstance(moment, datetime) else None


class CloudWatchAlarms:
    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch

    def states(self, names: Sequence[str]) -> Mapping[str, AlarmState]:
        found: dict[str, AlarmState] = {}
        for batch in _batches(list(names), DESCRIBE_ALARMS_BATCH):
            reply = call(
                self._cloudwatch.describe_alarms,
                AlarmNames=list(batch),
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                MaxRecords=DESCRIBE_ALARMS_BATCH,
            )
            for alarm in [*reply.get("MetricAlarms", []), *reply.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = AlarmState(
                    alarm["AlarmName"],
                    AlarmValue(alarm["StateValue"]),
                    alarm.get("StateReason", ""),
                    _entered_state(alarm),
                )
        return found


class TargetGroupHealth:
    def __init__(self, elbv2: Any, target_groups: Mapping[Colour, str]) -> None:
        self._elbv2 = elbv2
        self._groups = dict(target_groups)

    def healthy_targets(self, colour: Colour) -> int:
        return self._count(colour, {"healthy"})

    def running_targets(self, colour: Colour) -> int:
        """The colour's pods, as their targets: registered and not leaving, healthy or not yet
        (a new pod is ``initial`` until its first health checks pass, an overloaded one may be
        ``unhealthy``); ``draining``, ``unused`` and ``unavailable`` are not counted (the
        TargetHealth.State values of the ELBv2 API reference)."""
        return self._count(colour, {"initial", "healthy", "unhealthy"})

    def _count(self, colour: Colour, states: set[str]) -> int:
        reply = call(self._elbv2.describe_target_health, TargetGroupArn=self._groups[colour])
        descriptions = reply.get("TargetHealthDescriptions", [])
        return sum(1 for d in descriptions if d.get("TargetHealth", {}).get("State") in states)


class SnsAlerts:
    """Publishes alert messages to SNS topics."""

    def __init__(self, sns: Any) -> None:
        self._sns = sns

    def publish(self, topic_arn: str, message: AlertMessage) -> None:
        call(
            self._sns.publish,
            TopicArn=topic_arn,
            Subject=message.subject,
            MessageStructure="json",
            Message=message.sns_message(),
        )


def parameter_value(ssm: Any, name: str) -> str | None:
    """An SSM parameter's value, or None when there is no such parameter; raises PortError."""
    try:
        reply = call(ssm.get_parameter, Name=name)
    except PortError as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and _code(cause) == "ParameterNotFound":
            return None
        raise
    return str(reply["Parameter"]["Value"])


class SsmRollbackRecords:
    """Rollback records as SSM parameters ``<path>/<colour>`` (String, overwritten in place;
    SSM keeps the last 100 versions as history). Pulumi does not manage them."""

    def __init__(self, ssm: Any, path: str) -> None:
        self._ssm = ssm
        self._path = path.rstrip("/")

    def parameter(self, colour: Colour) -> str:
        return f"{self._path}/{colour}"

    def read(self, colour: Colour) -> RollbackRecord | None:
        name = self.parameter(colour)
        value = parameter_value(self._ssm, name)
        if value is None:
            return None
        try:
            record = RollbackRecord.from_json(value)
        except (ValueError, KeyError, TypeError) as exc:
            raise UnusableRecord(
                f"the rollback record {name} holds {value[:80]!r}, which is not a rollback "
                f"record Switchyard wrote ({type(exc).__name__}: {exc})",
                f"Delete it (aws ssm delete-parameter --name {name}) if no rollback of "
                f"{colour}'s release should hold, or overwrite it with the record Switchyard "
                "wrote (aws ssm get-parameter-history lists its versions), then run again",
            ) from exc
        if record.colour is not colour:
            raise UnusableRecord(
                f"the rollback record {name} holds a record of {record.colour}'s release "
                f"({record.id}), not of {colour}'s: it was written or copied to the wrong "
                "parameter",
                f"Put it in {self.parameter(record.colour)} if it is a rollback of "
                f"{record.colour}'s release; then delete {name} (aws ssm delete-parameter "
                f"--name {name}), or, if a rollback of {colour}'s release should hold, "
                "overwrite it with that record (aws ssm get-parameter-history --name "
                f"{name} lists the versions Switchyard wrote), then run again",
            )
        return record

    def write(self, record: RollbackRecord) -> None:
        # Tags cannot be combined with Overwrite in PutParameter; the path says whose it is.
        call(
            self._ssm.put_parameter,
            Name=self.parameter(record.colour),
            Value=record.to_json(),
            Type="String",
            Overwrite=True,
            Description="Switchyard rollback record: a rolled-back release stays refused",
        )


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def aws_cutover(
    clients: AwsClients,
    listener_arn: str,
    target_groups: Mapping[Colour, str],
    gating_alarms: Sequence[str],
    policy: TrafficPolicy,
    clock: Clock,
    on_event: Observer | None = None,
    alarms: Alarms | None = None,
) -> Cutover:
    """The cutover engine over the boto3 ports for one listener and its two target groups."""
    return Cutover(
        listener=ElbListener(clients.elbv2, listener_arn, target_groups),
        alarms=alarms or CloudWatchAlarms(clients.cloudwatch),
        health=TargetGroupHealth(clients.elbv2, target_groups),
        clock=clock,
        policy=policy,
        gating_alarms=gating_alarms,
        on_event=on_event,
    )
