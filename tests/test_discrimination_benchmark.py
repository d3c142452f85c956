"""`benchmarks/discrimination.py`: its problems, its judge, its rows and its table."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import sympy

from lawloop import experiments
from lawloop.tools import check_dimensions, parse_expression
from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "discrimination.py"
PROBLEMS = ROOT / "benchmarks" / "problems" / "discrimination.json"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("discrimination", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["discrimination"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _formula_problems():
    return json.loads(PROBLEMS.read_text())["problems"]


@pytest.mark.parametrize("problem", _formula_problems(), ids=lambda p: p["id"])
def test_truth_and_rival_have_the_units_of_the_output_and_differ_by_a_few_percent(
    problem,
):
    options = {"problem_file": str(PROBLEMS), "problem_id": problem["id"]}
    with experiments.make(
        "core/Formula-v0", options=options, blind=False, device="cpu"
    ) as lab:  # the extra `rival` and `note` fields are ignored
        names = [v.name for v in lab.inputs]
        units = {v.name: v.unit for v in lab.inputs}
        literals = {c["name"]: c["literal"] for c in problem["units_constants"]}
        for const in lab.constants:
            units[f"K_{const.name}"] = const.unit
        assert all(literal in problem["formula"] for literal in literals.values())
        for text in (problem["formula"], problem["rival"]):
            for name, literal in literals.items():
                text = text.replace(literal, f"K_{name}")
            check = check_dimensions(
                parse_expression(text, list(units)), units, lab.observables[0].unit
            )
            assert check.consistent, (text, check.message)
        x = lab.sample_inputs(np.random.default_rng(0), 20_000)
        y = lab.run_batch(x, seed=0).columns[lab.observables[0].name]
        rival = sympy.lambdify(
            [sympy.Symbol(n, real=True) for n in names],
            parse_expression(problem["rival"], names),
        )(*[x[n] for n in names])
    gap = np.abs(rival - y) / np.abs(y)
    # close over most of the range, a few per cent apart somewhere in it
    assert np.median(gap) < 0.03
    assert 0.02 < gap.max() < 0.25


def test_the_pendulum_judge_tells_the_small_angle_law_from_a_large_angle_series(
    bench,
):
    (pendulum,) = [p for p in bench.load_problems() if p.id == bench.PENDULUM_ID]
    small = bench.judge(pendulum, "6.2832*sqrt(L/g)", 0)
    assert small["is_rival"] is True
    assert small["is_truth"] is False
    series = bench.judge(
        pendulum,
        "2*pi*sqrt(L/g)*(1 + theta0**2/16 + 11*theta0**4/3072 + 173*theta0**6/737280)",
        0,
    )
    assert series["is_rival"] is False
    assert series["is_truth"] is True
    assert series["fresh_max_rel_error"] < 1e-4
    assert bench.judge(pendulum, None, 0)["is_truth"] is False


def test_a_formula_problem_is_judged_against_its_truth_and_its_rival(bench):
    problems = {p.id: p for p in bench.load_problems()}
    energy = problems["energy.relativistic"]
    truth = bench.judge(
        energy, "m*299792458.0**2*(1/sqrt(1 - v**2/299792458.0**2) - 1)", 0
    )
    assert (truth["is_truth"], truth["is_rival"]) == (True, False)
    rival = bench.judge(energy, "0.5*m*v**2", 0)
    assert (rival["is_truth"], rival["is_rival"]) == (False, True)


def test_other_truth_forms_are_the_formula_rearranged():
    for problem in _formula_problems():
        names = [v["name"] for v in problem["variables"]]
        truth = parse_expression(problem["formula"], names)
        for form in problem.get("truth_forms", []):
            assert sympy.simplify(parse_expression(form, names) - truth) == 0, form


@pytest.mark.slow  # an equivalence check of 4-10 s
def test_a_rearranged_truth_with_huge_fitted_constants_is_the_truth(bench):
    # what a noise-free campaign accepted: 1 + x/(1 - x/3) with x = n*alpha/eps0,
    # which the rule's numeric test alone calls a different structure
    problems = {p.id: p for p in bench.load_problems()}
    found = bench.judge(
        problems["dielectric.clausius_mossotti"],
        "-4.870337192867876e+71*alpha*n/(1.623445730933805e+71*alpha*n"
        " - 4.312288021664519e+60) + 1.0",
        0,
    )
    assert (found["is_truth"], found["is_rival"]) == (True, False), found


@pytest.mark.slow
def test_one_campaign_gives_a_row_with_real_fields(bench, tmp_path):
    problems = {p.id: p for p in bench.load_problems()}
    # The budget stops it after the first design (16 points, 2 measured twice):
    # a tight time limit could stop it before a law is even proposed.
    settings = {
        "budget": 18,
        "time_limit": 120.0,
        "initial_points": 16,
        "batch_points": 8,
        "replicates": 2,
    }
    row = bench.run_one(
        problems["drag.oseen"],
        0.01,
        0,
        "random",
        settings,
        f"sqlite:///{tmp_path / 'one.db'}",
    )
    assert "error" not in row, row
    assert row["problem"] == "drag.oseen"
    assert row["design"] == "random"
    assert row["status"] == "finished"
    assert row["stop_reason"]
    assert row["measurements"] == 18
    assert row["expression"]
    for key in ("is_truth", "is_rival", "right_accepted", "wrong_accepted"):
        assert isinstance(row[key], bool), key
    if row["right_accepted"]:
        assert row["measurements_to_right"] == row["measurements"]
    else:
        assert row["measurements_to_right"] is None


def _row(
    problem, design, to_right, *, noise=0.01, stop="accepted", wrong=False, rival=None
):
    return {
        "problem": problem,
        "noise": noise,
        "seed": 0,
        "design": design,
        "budget": 4000,
        "stop_reason": stop,
        "right_accepted": to_right is not None,
        "wrong_accepted": wrong,
        "is_rival": wrong if rival is None else rival,
        "measurements_to_right": to_right,
    }


ROWS = [
    # p at 0.01: active always right; random once right, once the rival, once consistent
    _row("p", "active", 500),
    _row("p", "active", 700),
    _row("p", "active", 900),
    _row("p", "random", 2100),
    _row("p", "random", None, wrong=True),
    _row("p", "random", None, stop="consistent", rival=True),
    # p at 0.1: both always right
    _row("p", "active", 1000, noise=0.1),
    _row("p", "active", 1200, noise=0.1),
    _row("p", "random", 1500, noise=0.1),
    _row("p", "random", 1800, noise=0.1),
    # q: neither design gets there
    _row("q", "active", None, stop="consistent"),
    _row("q", "random", None, stop="measurement budget (4000) used"),
]


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_the_table_counts_censors_at_the_budget_and_takes_the_median_ratio(bench):
    text = bench.table(ROWS)
    rows = {
        (c[0], c[1]): c
        for c in map(_cells, text.splitlines())
        if len(c) == 11 and c[0] in ("p", "q")
    }
    p1 = rows[("p", "0.01")]
    assert p1[2:6] == ["3/3", "0/3", "0/3", "700"]
    # two of three random runs censored at 4000: the median is a lower bound
    assert p1[6:10] == ["1/3", "1/3", "1/3 (1 rival)", ">=4000"]
    assert p1[10] == f">={4000 / 700:.2f}"
    p2 = rows[("p", "0.1")]
    assert p2[5] == "1100"
    assert p2[9] == "1650"
    assert p2[10] == "1.50"
    q = rows[("q", "0.01")]
    assert q[2:6] == ["0/1", "0/1", "1/1", ">=4000"]
    assert q[10] == "neither"
    median = (4000 / 700 + 1.5) / 2
    assert (
        f"median random/active over the 2 problem x noise cells both designs reached "
        f"(1 of them bounds): {median:.2f}; target >= 3" in text
    )
    assert "meets it" in text


@pytest.mark.slow  # imports the agent in a subprocess
def test_table_reprints_saved_rows_without_running(tmp_path):
    saved = tmp_path / "rows.json"
    saved.write_text(json.dumps(ROWS))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--table", str(saved)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.startswith("| problem | noise | active: right |")
    assert "| q | 0.01 |" in done.stdout
