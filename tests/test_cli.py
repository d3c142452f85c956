"""The command line, `python run.py ...`: its commands, exit codes and messages.

Most tests run the program in this process (`run_cli`: `lawloop.cli.main`
on captured streams), which is the same code without the seconds a new
interpreter takes to import the agent. The `*_process` tests start
`python run.py` as a user does, for what only a real process shows: the
entry point, its exit codes, and stdout kept apart from stderr.
"""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_cli_process

cli = run_cli


@pytest.fixture(scope="module")
def campaign_db(recorded_pendulum, tmp_path_factory):
    """A copy of the session's recorded pendulum campaign, as `cli.db`: (URL, summary, name).

    A copy, as `campaign start` on it (refused) opens it for writing.
    """
    from lawloop.storage import open_read_only

    path, _, summary = recorded_pendulum
    copy = tmp_path_factory.mktemp("cli") / "cli.db"
    shutil.copy(path, copy)
    db = f"sqlite:///{copy}"
    with open_read_only(db) as store:
        name = store.get_campaign(summary["campaign_id"]).name
    return db, summary, name


@pytest.fixture(scope="module")
def no_law_campaign(tmp_path_factory):
    """`campaign start --json` of a campaign that finds no law: (URL, the run, its folder)."""
    from tests.agent.test_bench import U0, _var
    from tests.conftest import TINY, write_config

    folder = tmp_path_factory.mktemp("no-law")
    problem = {
        "description": "a test problem no one-iteration campaign can fit",
        "problems": [
            {
                "id": "rough",
                "formula": "exp(sin(3 * x)) * y ** 1.7 + x / y",
                "output": "z",
                "output_units": dict(U0),
                "variables": [_var("x", 0.1, 3.0, {}), _var("y", 0.5, 2.0, {})],
                "split": "hard",
                "units_constants": [],
                "notes": None,
            }
        ],
    }
    problems = folder / "rough.json"
    problems.write_text(json.dumps(problem))
    config = write_config(folder / "tiny.toml", TINY)
    db = f"sqlite:///{folder / 'x.db'}"
    out = cli(
        "campaign",
        "start",
        "--backend",
        "core/Formula-v0",
        "--option",
        f"problem_file={problems}",
        "--option",
        "problem_id=rough",
        "--config",
        str(config),
        "--db",
        db,
        "--json",
    )
    return db, out, folder


def test_campaign_start_json_has_the_contract_fields(no_law_campaign):
    summary = json.loads(no_law_campaign[1].stdout)
    assert {"campaign_id", "status", "iterations", "measurements", "best"} <= set(
        summary
    )
    assert {"hypothesis_id", "expression", "parameters", "score"} <= set(
        summary["best"]
    )
    assert summary["status"] == "finished"


def test_campaign_list_and_status_by_prefix_and_name(campaign_db):
    db, summary, name = campaign_db
    listed = json.loads(
        cli("campaign", "list", "--db", db, "--json", check_code=0).stdout
    )
    assert [c["campaign_id"] for c in listed] == [summary["campaign_id"]]
    by_prefix = json.loads(
        cli(
            "campaign",
            "status",
            summary["campaign_id"][:6],
            "--db",
            db,
            "--json",
            check_code=0,
        ).stdout
    )
    by_name = json.loads(
        cli("campaign", "status", name, "--db", db, "--json", check_code=0).stdout
    )
    assert by_prefix == by_name
    assert by_prefix["best"]["expression"] == summary["best"]["expression"]


def test_hypotheses_list_filters_and_show_gives_uncertainties(campaign_db):
    db, summary, name = campaign_db
    rows = json.loads(
        cli(
            "hypotheses",
            "list",
            "--campaign",
            name,
            "--db",
            db,
            "--json",
            check_code=0,
        ).stdout
    )
    assert rows
    assert all(
        {"id", "campaign_id", "expression", "status", "score"} <= set(r) for r in rows
    )
    accepted = json.loads(
        cli(
            "hypotheses",
            "list",
            "--status",
            "accepted",
            "--db",
            db,
            "--json",
            check_code=0,
        ).stdout
    )
    assert [r["id"] for r in accepted] == [summary["best"]["hypothesis_id"]]
    shown = json.loads(
        cli(
            "hypotheses",
            "show",
            accepted[0]["id"][:10],
            "--db",
            db,
            "--json",
            check_code=0,
        ).stdout
    )
    assert shown["status"] == "accepted"
    assert all(v is not None and v >= 0 for v in shown["stderr"].values())
    assert any(d["kind"] == "accept" for d in shown["decisions"])
    human = cli(
        "hypotheses", "show", accepted[0]["id"][:10], "--db", db, check_code=0
    ).stdout
    assert "accept" in human
    assert "±" in human


def test_second_campaign_with_the_same_name_is_refused(campaign_db):
    db, _, name = campaign_db
    out = cli(
        "campaign",
        "start",
        "--backend",
        "core/Pendulum-v0",
        "--name",
        name,
        "--db",
        db,
        check_code=1,
    )
    assert "exists already" in out.stderr


def test_unknown_backend_suggests_the_closest(tmp_path):
    out = cli(
        "campaign",
        "start",
        "--backend",
        "core/Pendulm-v0",
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        check_code=1,
    )
    assert "core/Pendulum-v0" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--option", "nokey"], "KEY=VALUE"),
        (["--planner", "oracle"], "planner"),
        (["--planner", "llm"], "--model"),
        (["--seed", "-3"], "seed"),
        (["--noise", "-1"], "noise"),
        (["--noise-model", "lognormal"], "noise_model"),
        (["--design", "clever"], "design"),
    ],
    ids=[
        "bad-option",
        "bad-planner",
        "llm-without-model",
        "negative-seed",
        "negative-noise",
        "unknown-noise-model",
        "unknown-design",
    ],
)
def test_bad_arguments_exit_1_with_a_message(tmp_path, args, message):
    out = cli(
        "campaign",
        "start",
        "--backend",
        "core/Pendulum-v0",
        *args,
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        check_code=1,
    )
    assert message in out.stderr


def test_unknown_campaign_is_a_user_error(tmp_path):
    from lawloop.storage import open_store

    db = f"sqlite:///{tmp_path / 'x.db'}"
    open_store(db).close()  # an empty lawloop database
    out = cli("campaign", "status", "nope", "--db", db, check_code=1)
    assert "nope" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("campaign", "status", "abc"),
        ("campaign", "list"),
        ("campaign", "resume", "abc"),
        ("hypotheses", "list"),
        ("why", "abc"),
        ("report", "abc", "--out", "r.html"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_misspelled_database_path_is_not_created(campaign_db, tmp_path, args):
    right = campaign_db[0].removeprefix("sqlite:///")
    wrong = right.replace("cli.db", "cl.db")
    out = cli(*args, "--db", f"sqlite:///{wrong}", cwd=tmp_path, check_code=1)
    assert f"No database file at `{wrong}` (did you mean `{right}`?)" in out.stderr
    assert "Traceback" not in out.stderr
    assert not Path(wrong).exists()


def test_backends_list_json_names_the_builtins():
    rows = json.loads(cli("backends", "list", "--json", check_code=0).stdout)
    ids = {r["id"] for r in rows}
    assert {"core/Pendulum-v0", "core/Formula-v0"} <= ids


def test_backends_list_says_what_each_backend_measures():
    rows = json.loads(cli("backends", "list", "--json", check_code=0).stdout)
    described = {r["id"]: r["description"] for r in rows}
    assert "period" in described["core/Pendulum-v0"]
    assert all(described[i] for i in described if i.startswith("core/"))
    text = cli("backends", "list", check_code=0).stdout
    assert described["core/Kepler-v0"] in text


def test_help_lists_the_command_groups_process():
    out = run_cli_process("--help", check_code=0).stdout
    assert all(word in out for word in ("campaign", "hypotheses", "backends"))
    assert "Usage: lawloop " in out  # the installed command's name, from run.py too


@pytest.mark.parametrize("run", [cli, run_cli_process], ids=["in-process", "process"])
def test_a_flag_click_cannot_parse_exits_1_not_2(run):
    """Exit 2 means a failed campaign here: a usage error is the user's (1)."""
    out = run("hypotheses", "list", "--limit", "abc", check_code=1)
    assert out.stdout == ""
    assert "--limit" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["campaign", "start", "--backend", "core/Pendulum-v0", "--seed", "-3"],
            "seed",
        ),
        (["campaign", "list"], "No database file at"),
    ],
    ids=["negative-seed", "misspelled-database"],
)
def test_a_user_error_is_exit_1_and_one_message_on_stderr_process(
    tmp_path, args, message
):
    """What the in-process tests check, seen from outside a real process."""
    out = run_cli_process(
        *args, "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path, check_code=1
    )
    assert out.stdout == ""
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_bench_feynman_runs_each_engine_and_writes_the_rows(tmp_path):
    problems = tmp_path / "product.json"
    unit = {"m": 0, "s": 0, "kg": 0, "T": 0, "V": 0}
    variables = [
        {
            "name": name,
            "low": 0.5,
            "high": 5.0,
            "sampling": "uniform",
            "sign": "positive",
            "integer": False,
            "units": unit,
        }
        for name in ("a", "b")
    ]
    problems.write_text(
        json.dumps(
            {
                "problems": [
                    {
                        "id": "product",
                        "formula": "a * b",
                        "output": "y",
                        "output_units": unit,
                        "variables": variables,
                        "split": "easy",
                        "units_constants": [],
                        "notes": None,
                    }
                ]
            }
        )
    )
    out_file = tmp_path / "rows.json"
    common = [
        "bench",
        "feynman",
        "--problems",
        str(problems),
        "--time-limit",
        "1",
        "--max-measurements",
        "200",
        "--db",
        f"sqlite:///{tmp_path / 'b.db'}",
    ]
    out = cli(
        *common, "--engine", "operon,gplearn", "--out", str(out_file), check_code=0
    )
    rows = json.loads(out_file.read_text())
    assert [(r["id"], r["engine"]) for r in rows] == [
        ("product", "operon"),
        ("product", "gplearn"),
    ]
    assert rows[0]["recovered"], rows[0]
    assert all(r["split"] == "easy" and r["measurements"] == 200 for r in rows)
    assert "engine" in out.stdout
    assert "operon: recovered 1/1" in out.stdout


def test_a_campaign_that_finds_no_law_says_so_in_its_exit_code_and_everywhere(
    no_law_campaign,
):
    db, out, folder = no_law_campaign
    summary = json.loads(out.stdout)
    assert summary["status"] == "finished"
    assert summary["outcome"] == "not found"
    assert out.returncode == 4, out.stderr[-3000:]
    listed = json.loads(
        cli("campaign", "list", "--db", db, "--json", check_code=0).stdout
    )
    assert [(r["status"], r["outcome"]) for r in listed] == [("finished", "not found")]
    status = cli("campaign", "status", summary["campaign_id"][:8], "--db", db).stdout
    # In a pipe, one line per statement: nothing wrapped at 80 columns.
    assert any(
        "finished, no law accepted: none fits every measurement" in line
        for line in status.splitlines()
    ), status
    report = folder / "r.html"
    cli(
        "report",
        summary["campaign_id"][:8],
        "--out",
        str(report),
        "--db",
        db,
        check_code=0,
    )
    assert 'id="outcome">not found</span>' in report.read_text()
