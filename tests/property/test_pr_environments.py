"""PR environments' names at every limit for any PR number, their listener priorities, and the
sweep's choice (delivery.plans.pr_environments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery.config.pr_environments import GITHUB_MAX_PR
from delivery.plans.pr_environments import (
    HEAD_LIMIT,
    MAX_PRIORITY,
    PR_PRIORITY_BASE,
    PR_PRIORITY_SLOTS,
    PrEnvironmentError,
    PrStack,
    PrState,
    SweepReason,
    is_label,
    is_target_group_name,
    listener_priority,
    pr_head,
    pr_names,
    to_sweep,
)

IAM_ROLE_LIMIT = 64  # an IAM role's name (IAM API reference, CreateRole RoleName)
prs = st.integers(1, GITHUB_MAX_PR)
prefixes = st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,10}){0,3}", fullmatch=True)


@given(prs, prefixes)
def test_every_name_is_within_its_limit_for_any_pr(pr: int, prefix: str) -> None:
    names = pr_names(pr, prefix)
    assert is_target_group_name(names.target_group), names.target_group
    assert is_label(names.namespace) and is_label(names.host_label)
    assert names.secret_prefix.endswith(f"-pr{pr}/")
    # every AWS name starts with the head the PR CI role's IAM patterns are written with
    head = pr_head(prefix)
    for name in (names.target_group, names.secret_prefix, names.app_role):
        assert name.startswith(f"{head}-pr"), name
    assert len(names.app_role) <= IAM_ROLE_LIMIT and names.app_role.endswith("-app")


@given(prs, prs, prefixes)
def test_two_prs_never_share_a_name(a: int, b: int, prefix: str) -> None:
    if a == b:
        return
    first, second = pr_names(a, prefix), pr_names(b, prefix)
    for field in ("stack", "namespace", "target_group", "host_label", "secret_prefix", "app_role"):
        assert getattr(first, field) != getattr(second, field), field
    # no PR's secrets path lies under another's
    assert not second.secret_prefix.startswith(first.secret_prefix)


def test_dev_names_known_answer() -> None:
    names = pr_names(1234, "switchyard-dev")
    assert (names.stack, names.namespace, names.target_group) == (
        "dev-pr-1234",
        "pr-1234",
        "switchyard-dev-pr1234",
    )
    assert names.secret_prefix == "switchyard-dev-pr1234/"
    assert names.app_role == "switchyard-dev-pr1234-app"
    longest = pr_names(GITHUB_MAX_PR, "switchyard-development-sandbox")
    assert len(longest.target_group) == 32 and longest.target_group.endswith("pr2147483647")
    assert longest.target_group.startswith("switchyard-d")


def test_two_long_prefixes_with_one_start_get_two_heads() -> None:
    first, second = pr_head("switchyard-development-a"), pr_head("switchyard-development-b")
    assert first != second and len(first) == len(second) == HEAD_LIMIT


@pytest.mark.parametrize("bad", [0, -1, GITHUB_MAX_PR + 1, True, 1.5, "12"])
def test_a_pr_number_outside_githubs_range_is_refused(bad: object) -> None:
    with pytest.raises(PrEnvironmentError, match=r"integer in 1\.\.2147483647"):
        pr_names(bad, "switchyard-dev")  # type: ignore[arg-type]


@given(prs, st.sets(st.integers(PR_PRIORITY_BASE, MAX_PRIORITY), max_size=200))
def test_a_priority_is_in_the_band_and_free(pr: int, taken: set[int]) -> None:
    priority = listener_priority(pr, taken)
    assert PR_PRIORITY_BASE <= priority <= MAX_PRIORITY
    assert priority not in taken
    assert listener_priority(pr, taken) == priority  # the same answer for the same state


def test_colliding_prs_take_the_next_free_slot_and_a_full_band_is_refused() -> None:
    first = listener_priority(1, set())
    assert first == PR_PRIORITY_BASE
    assert listener_priority(1 + PR_PRIORITY_SLOTS, {first}) == first + 1
    with pytest.raises(PrEnvironmentError, match="destroy old PR environments"):
        listener_priority(7, set(range(PR_PRIORITY_BASE, MAX_PRIORITY + 1)))


NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def test_the_sweep_destroys_closed_unknown_and_expired_and_nothing_else() -> None:
    stacks = [
        PrStack("dev-pr-1", NOW - DAY),  # open, young: kept
        PrStack("dev-pr-2", NOW - DAY),  # closed
        PrStack("dev-pr-3", NOW - 10 * DAY),  # open, too old
        PrStack("dev-pr-4", NOW - DAY),  # no such PR
        PrStack("dev", NOW - 400 * DAY),  # never a PR environment
        PrStack("prod", NOW - 400 * DAY),
        PrStack("dev-pr-05", NOW - 400 * DAY),  # not a name this code gives
    ]
    states = {1: PrState.OPEN, 2: PrState.CLOSED, 3: PrState.OPEN}
    chosen = to_sweep(stacks, states, NOW, 7 * DAY)
    assert [(s.name, r) for s, r in chosen] == [
        ("dev-pr-2", SweepReason.CLOSED),
        ("dev-pr-3", SweepReason.EXPIRED),
        ("dev-pr-4", SweepReason.UNKNOWN),
    ]


@given(
    st.lists(
        st.tuples(st.sampled_from(["dev", "staging", "prod", "dev-pr"]), prs, st.integers(0, 60)),
        max_size=30,
    ),
    st.dictionaries(prs, st.sampled_from(list(PrState)), min_size=1, max_size=30),
)
def test_the_sweep_never_touches_a_stack_that_is_not_a_pr_environment(
    listed: list[tuple[str, int, int]], states: dict[int, PrState]
) -> None:
    stacks = [
        PrStack(f"{kind}-{pr}" if kind == "dev-pr" else kind, NOW - days * DAY)
        for kind, pr, days in listed
    ]
    for stack, _ in to_sweep(stacks, states, NOW, 14 * DAY):
        assert stack.name.startswith("dev-pr-")


def test_the_sweep_refuses_naive_times_and_takes_every_environment_when_none_is_open() -> None:
    with pytest.raises(PrEnvironmentError, match="aware ones"):
        to_sweep([PrStack("dev-pr-1", datetime(2026, 12, 1))], {1: PrState.OPEN}, NOW, DAY)
    hour_ago = NOW - timedelta(hours=1)
    chosen = to_sweep([PrStack("dev-pr-1", hour_ago), PrStack("prod", hour_ago)], {}, NOW, DAY)
    assert [(s.name, r) for s, r in chosen] == [("dev-pr-1", SweepReason.UNKNOWN)]


def test_the_age_is_strictly_past_the_limit_and_an_unfinished_first_up_has_none() -> None:
    open_ = {1: PrState.OPEN, 2: PrState.OPEN, 3: PrState.OPEN, 4: PrState.CLOSED}
    stacks = [
        PrStack("dev-pr-1", NOW - DAY),  # exactly the age: kept
        PrStack("dev-pr-2", NOW - DAY - timedelta(seconds=1)),
        PrStack("dev-pr-3", None),  # its first `up` is running: kept while its PR is open
        PrStack("dev-pr-4", None),  # ... and goes with it
    ]
    assert [(s.name, r) for s, r in to_sweep(stacks, open_, NOW, DAY)] == [
        ("dev-pr-2", SweepReason.EXPIRED),
        ("dev-pr-4", SweepReason.CLOSED),
    ]


def test_a_qualified_stack_name_is_a_pr_environment_too() -> None:
    chosen = to_sweep([PrStack("acme/switchyard/dev-pr-9", NOW)], {9: PrState.CLOSED}, NOW, DAY)
    assert [(s.name, r) for s, r in chosen] == [("acme/switchyard/dev-pr-9", SweepReason.CLOSED)]


@pytest.mark.parametrize("prefix", ["", "Switchyard_Dev", "-dev", "dev-"])
def test_a_bad_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(PrEnvironmentError, match="name prefix"):
        pr_names(5, prefix)


def test_a_non_positive_age_is_refused() -> None:
    with pytest.raises(PrEnvironmentError, match="age must be positive"):
        to_sweep([], {}, NOW, timedelta(0))
