"""Every command of the README's "Using it" section, run in a clean clone with nothing beside it.

The commands are read from the README itself, so the section and the
program cannot drift apart. `lawloop` runs as `python <clone>/run.py` (the
installed script points at this checkout, not the clone). Placeholders are
filled from what the earlier commands made: CAMPAIGN is the first
campaign, except for `stop`, which acts on a campaign running in the
background, and `resume`, on one stopped for it (stopping or resuming a
finished campaign is refused by design); HYPOTHESIS is the first
campaign's first hypothesis. Campaigns get a time limit of 30 s.
"""

import json
import re
import shlex
import subprocess
import sys
import time

import pytest

from tests.conftest import FINISHED_CODES, ROOT

pytestmark = pytest.mark.slow  # two campaigns, a replay and a dozen commands

# The one line a user must adapt: it names a module of their own.
NOT_RUNNABLE = ("mypkg.mylab:MyBackend",)


def using_it_commands(readme: str) -> list[str]:
    """The shell commands of the first bash block under "## Using it", continuations joined."""
    section = readme.split("## Using it", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _campaign_id(out: str) -> str:
    return json.loads(out)["campaign_id"]


def test_every_command_of_using_it_runs_in_a_clean_clone(tmp_path):
    clone = tmp_path / "lawloop"
    subprocess.run(
        ["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120
    )
    commands = using_it_commands((clone / "README.md").read_text())
    assert len(commands) >= 15, commands
    program = f"{shlex.quote(sys.executable)} {shlex.quote(str(clone / 'run.py'))}"

    def run(line, background=False):
        line = re.sub(r"^lawloop ", program + " ", line)
        if " campaign start " in line:
            line += " --time-limit 30 --progress none"
        if background:
            return subprocess.Popen(
                ["bash", "-c", line],
                cwd=clone,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        return subprocess.run(
            ["bash", "-c", line], cwd=clone, capture_output=True, text=True, timeout=600
        )

    def in_background(name):
        """A campaign long enough to be stopped, started in the background and past its start."""
        process = run(
            f"lawloop campaign start --backend core/Pendulum-v0 --seed 2 "
            f"--max-iterations 50 --name {name} --json",
            background=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until it runs and holds its lease
            status = run(f"lawloop campaign status {name} --json")
            if (
                status.returncode == 0
                and json.loads(status.stdout)["status"] == "running"
            ):
                return process
            assert process.poll() is None, process.communicate()[1][-2000:]
            time.sleep(0.5)
        raise AssertionError(f"campaign {name} did not start within 120 s")

    def stopped(process):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 130, err[-2000:]  # interrupted, resumable

    first = None
    hypothesis = None
    ran = []
    for line in commands:
        if line.startswith("source .venv/bin/activate") or any(
            name in line for name in NOT_RUNNABLE
        ):
            continue
        stopping = None
        if " campaign resume " in line:
            # Resume needs an interrupted campaign: make one.
            process = in_background("to-resume")
            assert run("lawloop campaign stop to-resume").returncode == 0
            stopped(process)
            line = line.replace("CAMPAIGN", "to-resume")
        elif " campaign stop " in line:
            stopping = in_background("to-stop")
            line = line.replace("CAMPAIGN", "to-stop")
        line = line.replace("CAMPAIGN", first or "CAMPAIGN")
        line = line.replace("HYPOTHESIS", hypothesis or "HYPOTHESIS")
        line = line.replace("[--iteration N]", "--iteration 0")
        done = run(line)
        ran.append(line)
        if " campaign start " in line or " campaign resume " in line:
            assert done.returncode in FINISHED_CODES, (line, done.stderr[-2000:])
        else:
            assert done.returncode == 0, (line, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (line, done.stderr[-2000:])
        if stopping is not None:
            stopped(stopping)
        if first is None and " campaign start " in line and "--json" in line:
            first = _campaign_id(done.stdout)[:8]
            listed = run(f"lawloop hypotheses list --campaign {first} --json")
            hypothesis = json.loads(listed.stdout)[0]["id"][:10]
    assert first is not None
    # Every line but the activation and the user's own module ran.
    assert len(ran) == len(commands) - 2, ran
    assert (clone / "crate" / "ro-crate-metadata.json").is_file()
