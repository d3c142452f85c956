"""The reply boundary: `parse_reply` on hostile text, `screen_reply`'s cap, `redact`.

No timing asserts: the adversarial inputs below made the old scanner
quadratic (20 s on 100 KB); each now runs in one pass, which the suite's
`--durations` shows. The structural test counts the scanner's steps instead.
"""

import contextlib
import json
import re

import pytest

import lawloop.agent.planners._llm_schema as schema
from lawloop.agent.planners._llm_schema import (
    MAX_JSON_DEPTH,
    ReplyError,
    parse_reply,
    redact,
    screen_reply,
)

KEY = "sk-lawloop-test-SECRET-0123456789"
VALID = json.dumps(
    {
        "proposals": [
            {"expression": "c0*sqrt(L/g)", "parameters": ["c0"], "rationale": "r"}
        ],
        "notes": "",
    }
)

ADVERSARIAL = {
    "fence-brace-150k": "```{" * 37_500,
    "fence-brace-1m": "```{" * 250_000,
    "nested-closed-100k": '{"proposals":' + "[" * 100_000 + "]" * 100_000 + "}",
    "nested-open-100k": '{"proposals":' + "[" * 100_000,
    "empty-objects-1m": "{}" * 500_000,
    "strings-1m": "{" + '"a",' * 250_000,
    "unterminated-string-1m": '{"' + "a" * 1_000_000,
    "backslashes-1m": '{"' + "\\" * 1_000_000,
    "brackets-1m": "{" + "[]" * 500_000 + "}",
    "closers-1m": "}" * 1_000_000,
    "fences-1m": "```json\n" * 125_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL), ids=str)
def test_adversarial_replies_give_a_reply_error_in_one_pass(name):
    with pytest.raises(ReplyError):
        parse_reply(ADVERSARIAL[name])


class CountingPattern:
    """`_TOKEN` with a count of the tokens handed out."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.tokens = 0

    def finditer(self, text, pos=0):
        for match in self.pattern.finditer(text, pos):
            self.tokens += 1
            yield match


@pytest.mark.parametrize(
    "text",
    [
        *ADVERSARIAL.values(),
        ("{} " + "x" * 50) * 2000 + VALID,
        ('{"a": "}' + "[" * 40) * 5000,
        "prose {not json} more ```json\n" + VALID + "\n```",
    ],
    ids=[*ADVERSARIAL, "many-candidates", "unclosed-strings", "prose-then-fence"],
)
def test_the_scanner_visits_each_character_at_most_once(monkeypatch, text):
    """Linear by construction: all candidates together take fewer tokens than there are characters."""
    counting = CountingPattern(schema._TOKEN)
    monkeypatch.setattr(schema, "_TOKEN", counting)
    with contextlib.suppress(ReplyError):
        parse_reply(text)
    assert counting.tokens <= len(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"proposals":' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 200_000,
        '{"a":' * 50_000,
    ],
    ids=["closed", "array", "objects"],
)
def test_deep_nesting_is_refused_before_json_recurses(text):
    with pytest.raises(ReplyError, match=f"nests deeper than {MAX_JSON_DEPTH} levels"):
        parse_reply("{" + text)


def test_nesting_up_to_the_limit_is_decoded():
    inner = "[" * (MAX_JSON_DEPTH - 3) + "]" * (MAX_JSON_DEPTH - 3)
    text = VALID[:-1] + f', "extra": {inner}' + "}"
    with pytest.raises(
        ReplyError, match="extra"
    ):  # decoded, then the schema refuses it
        parse_reply(text)


def test_braces_inside_strings_do_not_count():
    text = json.dumps(
        {
            "proposals": [
                {"expression": "c0*L", "parameters": ["c0"], "rationale": '{"[ \\'}
            ],
            "notes": "}}}]]",
        }
    )
    reply = parse_reply(f"Here it is: {text} -- done }}")
    assert reply.notes == "}}}]]"


def test_the_object_with_proposals_wins_over_earlier_json_and_prose():
    reply = parse_reply('I tried {"a": 1} and {braces} first.\n```json\n' + VALID)
    assert reply.proposals[0].expression == "c0*sqrt(L/g)"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "the reply was empty"),
        ("no json here", "contains no JSON object"),
        ('{"proposals": [}', "not valid JSON: Expecting value at line 1"),
        ('{"proposals": [', "not valid JSON"),
        ('{"proposals": NaN}', "holds `NaN`, which is not JSON"),
        ('{"proposals": -Infinity}', "holds `-Infinity`"),
        ('{"proposals": ' + "1" * 5000 + "}", "not valid JSON: Exceeds the limit"),
        (
            VALID.replace(
                '"rationale": "r"',
                '"rationale": "r", "designs": [[{"name": "L", "value": 1e400}]]',
            ),
            "finite number",
        ),
        (VALID.replace("c0*sqrt", "\\ud800*sqrt"), "unable to parse raw data"),
        (
            VALID.replace(
                '"rationale": "r"',
                '"rationale": "r", "designs": [[{"name": "\\udfff", "value": 1}]]',
            ),
            "unable to parse raw data",
        ),
    ],
    ids=[
        "empty",
        "prose",
        "malformed",
        "unclosed",
        "nan",
        "infinity",
        "long-integer",
        "infinite-design",
        "lone-surrogate",
        "lone-surrogate-name",
    ],
)
def test_each_kind_of_bad_reply_says_what_was_wrong(text, match):
    with pytest.raises(ReplyError, match=re.escape(match)):
        parse_reply(text)


def test_a_reply_under_the_cap_is_kept_whole_with_secrets_redacted():
    text = f"{VALID} Authorization: Bearer {KEY}\x00"
    kept, refused = screen_reply(text, max_bytes=4096, secrets=[KEY])
    assert refused is None
    assert KEY not in kept
    assert "Bearer ***" in kept
    assert "\x00" not in kept
    assert kept.startswith(VALID)


def test_a_reply_over_the_cap_is_refused_unread_and_kept_cut_with_its_size():
    text = "x" * 5_000_000
    kept, refused = screen_reply(text, max_bytes=65_536)
    assert "5,000,000 bytes" in refused
    assert "65,536 bytes" in refused
    assert "`llm_max_reply_bytes`" in refused
    assert kept.startswith("x" * 65_536)
    assert len(kept.encode()) <= 65_536 + 64
    assert kept.endswith("[lawloop: reply cut at 65536 of 5000000 bytes]")


def test_a_cut_reply_is_refused_again_for_the_same_reason():
    kept, refused = screen_reply("é" * 40_000, max_bytes=2048)
    assert screen_reply(kept, max_bytes=2048) == (kept, refused)
    assert screen_reply(kept, max_bytes=65_536) == (kept, refused)


def test_a_fake_marker_does_not_let_a_long_reply_through():
    text = "x" * 100_000 + "\n[lawloop: reply cut at 999999 of 999999 bytes]"
    kept, refused = screen_reply(text, max_bytes=2048)
    assert len(kept.encode()) <= 2048 + 64
    assert "100,047 bytes" in refused


def test_no_secret_survives_the_cut_in_part():
    for offset in range(1, len(KEY)):
        text = "x" * (1024 - offset) + KEY + "y" * 2000
        kept, _ = screen_reply(text, max_bytes=1024, secrets=[KEY])
        assert KEY[: max(offset, 4)] not in kept


def test_the_cut_keeps_whole_characters():
    kept, _ = screen_reply("€" * 1000, max_bytes=1024)
    assert kept.startswith("€" * 341)
    assert "\ufffd" not in kept


def test_lone_surrogates_are_made_storable():
    kept, refused = screen_reply("a\ud800b", max_bytes=1024)
    assert (kept, refused) == ("a?b", None)
    kept.encode("utf-8")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (f"key {KEY}.", "key ***."),
        ("authorization: Bearer abc.DEF-123_~+/=", "authorization: Bearer ***"),
        ("BEARER\ttoken-1234", "BEARER ***"),
        ("the bearer of the load", "the bearer of the load"),
        ("sk-proj-ABCDEFGHIJKLMNOPQRSTUV and sk-short", "*** and sk-short"),
        ("hunter2-correct-horse in the reply", "*** in the reply"),
        ("risk-averse-coefficient-values", "risk-averse-coefficient-values"),
        ("c0*sqrt(L/g)", "c0*sqrt(L/g)"),
    ],
    ids=[
        "key",
        "bearer",
        "bearer-tab",
        "bearer-prose",
        "sk-shaped",
        "configured",
        "word",
        "law",
    ],
)
def test_redact_replaces_secrets_and_token_shapes(text, want):
    assert redact(text, ["hunter2-correct-horse", "short"]) == want


def test_redact_is_idempotent():
    once = redact(f"Bearer {KEY} {KEY}", [KEY])
    assert redact(once, [KEY]) == once == "Bearer *** ***"
