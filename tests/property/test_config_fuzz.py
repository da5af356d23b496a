"""Arbitrary stack mappings (wrong types, nesting, unicode, huge values) give a valid model or
one ConfigError, never any other exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.config.keys import DECLARED
from delivery.config.model import Settings
from delivery.config.settings import load_settings
from delivery.config.stackfile import available_stacks, stack_config
from delivery.errors import ConfigError

EXAMPLES = 200  # per test, also under CI's profile: the fuzz must not dominate `make test`
KNOWN = sorted(key.full for key in DECLARED)
GOOD = {stack: stack_config(stack) for stack in available_stacks()}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet="0123456789-+ .e", max_size=12),  # numbers as text, almost
    st.just("9" * 4301),  # more digits than int() converts
    st.sampled_from(["10.0.0.0/16", "arn:aws:acm:eu-west-1:123456789012:certificate/x", "[1, 2]"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.one_of(
    st.sampled_from(KNOWN),
    st.text(max_size=30),
    st.builds(lambda k: f"switchyard:{k}", st.text(max_size=20)),
    st.sampled_from([key.name for key in DECLARED]),  # bare: a project key, as Pulumi reads it
)


def outcome(raw: dict[str, Any], stack: str) -> Settings | ConfigError:
    try:
        return load_settings(raw, stack)
    except ConfigError as error:
        failure = error
    assert failure.problems, "a ConfigError must name at least one problem"
    assert all(p.key and p.reason for p in failure.problems)
    return failure


@settings(max_examples=EXAMPLES)
@given(st.dictionaries(keys, values, max_size=20), st.text(max_size=10))
def test_any_mapping_is_a_model_or_a_config_error(raw: dict[str, Any], stack: str) -> None:
    outcome(raw, stack)


@settings(max_examples=EXAMPLES)
@given(
    st.sampled_from(sorted(GOOD)),
    st.dictionaries(st.sampled_from(KNOWN), values, min_size=1, max_size=6),
)
def test_a_good_stack_with_any_keys_spoiled_is_a_model_or_a_config_error(
    stack: str, spoiled: dict[str, Any]
) -> None:
    result = outcome({**GOOD[stack], **spoiled}, stack)
    if isinstance(result, Settings):
        assert result.stack == stack
