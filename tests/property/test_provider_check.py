"""The dynamic provider's check() never raises, whatever it is given: it reports."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pulumi.runtime import rpc

from delivery.cutover.provider import INPUTS, check_inputs

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.just(rpc.UNKNOWN),
    st.sampled_from(["blue", "green", "eu-west-1", "/switchyard/x"]),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["blue", "green", "critical", "emergency"]), st.text()),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(INPUTS), VALUES))
def test_check_reports_every_input_problem_and_never_raises(news: dict[str, Any]) -> None:
    failures = check_inputs(news)
    assert all(f.property and f.reason for f in failures)
    missing = {k for k in INPUTS if k not in ("release", "retry_rollback") and news.get(k) is None}
    assert missing <= {f.property for f in failures}
