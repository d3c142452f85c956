"""Prompt templates load with their hash and refuse missing values."""

import pytest

from lawloop.prompts import TemplateError, load


def test_template_renders_and_hashes(tmp_path):
    (tmp_path / "greet.md").write_text(
        "---\nname: greet\nversion: 2\n---\nMeasure $what.\n"
    )
    t = load("greet", tmp_path)
    assert t.version == 2
    assert len(t.sha256) == 64
    assert t.render(what="the period") == "Measure the period.\n"
    with pytest.raises(TemplateError, match="needs a value"):
        t.render()


def test_missing_template_lists_the_available_ones(tmp_path):
    (tmp_path / "a.md").write_text("---\nname: a\nversion: 1\n---\nx\n")
    with pytest.raises(TemplateError, match=r"available: \['a'\]"):
        load("b", tmp_path)
