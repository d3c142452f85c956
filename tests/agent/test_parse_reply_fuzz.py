"""`parse_reply` and `screen_reply` on any text: an `LLMReply` or a `ReplyError`, nothing else.

The example count comes from the Hypothesis profile (`ci` by default, `fuzz`
for the long search: `LAWLOOP_HYPOTHESIS_PROFILE=fuzz`).
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lawloop.agent.planners._llm_schema import (
    LLMReply,
    ReplyError,
    parse_reply,
    screen_reply,
)

# JSON-ish building blocks: what a model, a proxy or an attacker may send.
PIECES = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        '"',
        "\\",
        ":",
        ",",
        "```",
        "```json\n",
        '"proposals"',
        '"expression"',
        '"parameters"',
        '"designs"',
        '"notes"',
        '"c0*sqrt(L/g)"',
        '["c0"]',
        "NaN",
        "-Infinity",
        "1e400",
        "1" * 5000,
        "\\ud800",
        "\\u0000",
        "\x00",
        "null",
        "true",
        " ",
        "\n",
        "prose",
        "[" * 200,
        "]" * 200,
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.floats()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(["c0*sqrt(L/g)", "c0", "L", "proposals"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "proposals",
                    "expression",
                    "parameters",
                    "rationale",
                    "designs",
                    "notes",
                    "name",
                    "value",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


# The shapes of issue 13: deep nesting, an integer too long for `int()`,
# constants JSON does not have, each closed or left open.
DEEP_OR_LONG = st.builds(
    lambda depth, filler, closed: (
        '{"proposals": ' + "[" * depth + filler + ("]" * depth + "}" if closed else "")
    ),
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from(["", "1" * 5000, "NaN", "1e400", '"x"', "{", '"\\ud800"']),
    st.booleans(),
)


def _outcome(text):
    try:
        return parse_reply(text)
    except ReplyError as exc:
        return exc


@settings(deadline=2000)
@given(st.text())
def test_any_text_gives_a_reply_or_a_reply_error(text):
    assert isinstance(_outcome(text), LLMReply | ReplyError)


@settings(deadline=2000)
@given(st.lists(PIECES, max_size=60).map("".join))
def test_json_ish_fragments_give_a_reply_or_a_reply_error(text):
    assert isinstance(_outcome(text), LLMReply | ReplyError)


@settings(deadline=2000)
@given(DEEP_OR_LONG)
def test_deep_or_long_json_gives_a_reply_or_a_reply_error(text):
    assert isinstance(_outcome(text), LLMReply | ReplyError)


@settings(deadline=2000)
@given(JSON_VALUES, st.text(max_size=30), st.text(max_size=30), st.booleans())
def test_wrapped_json_values_give_a_reply_or_a_reply_error(value, before, after, fence):
    body = json.dumps(value)
    text = f"{before}```json\n{body}\n```{after}" if fence else before + body + after
    assert isinstance(_outcome(text), LLMReply | ReplyError)


@settings(deadline=2000)
@given(
    st.text() | st.lists(PIECES, max_size=60).map("".join),
    st.integers(min_value=1, max_value=300),
)
def test_a_screened_reply_is_storable_capped_and_screened_alike_again(text, cap):
    kept, refused = screen_reply(text, max_bytes=cap, secrets=["sk-" + "k" * 20])
    data = kept.encode("utf-8")  # no lone surrogate
    assert "\x00" not in kept
    assert len(data) <= cap + 64
    assert refused is None or "bytes" in refused
    assert screen_reply(kept, max_bytes=cap) == (kept, refused)
    assert isinstance(_outcome(kept), LLMReply | ReplyError)
