"""Real campaigns on PostgreSQL: the same rows as on SQLite, also with two writers at once.

Skipped unless `LAWLOOP_TEST_POSTGRES_URL` names a server
(`bash scripts/postgres.sh start` prints one).
"""

import json
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from lawloop.agent import CHECKPOINT_SCHEMA
from lawloop.storage import check_database, open_store
from tests.conftest import FAST, ROOT, TINY, dump_diff, finished, write_config

SEEDS = (2, 3)


def checkpoint_tables(url):
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names(schema=CHECKPOINT_SCHEMA)
    finally:
        engine.dispose()


def wait_all(processes, url, *, timeout):
    """Each process's (stdout, stderr); on a timeout, fail with what they and the server wait for.

    A stuck runner prints its threads' stacks on SIGUSR1 (`agent._control`);
    `pg_stat_activity` and the ungranted or advisory locks say what the
    server sees.
    """
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    stuck = [p for p in processes if p.poll() is None]
    if not stuck:
        return [p.communicate() for p in processes]
    for process in stuck:
        process.send_signal(signal.SIGUSR1)
    time.sleep(2)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            activity = conn.exec_driver_sql(
                "SELECT pid, state, wait_event_type, wait_event, backend_xmin,"
                " left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).all()
            locks = conn.exec_driver_sql(
                "SELECT locktype, classid, objid, virtualxid, transactionid, pid,"
                " mode, granted FROM pg_locks"
                " WHERE NOT granted OR locktype = 'advisory'"
            ).all()
    finally:
        engine.dispose()
    outputs = []
    for process in processes:
        process.kill()
        outputs.append(process.communicate())
    server = "\n".join(map(str, [*activity, "locks:", *locks]))
    stderr = "\n\n".join(err[-6000:] for _, err in outputs)
    pytest.fail(
        f"{len(stuck)} runner(s) still running after {timeout} s.\n"
        f"server:\n{server}\nstderr:\n{stderr}"
    )


def dump(url, campaign_id):
    with open_store(url) as store:
        return store.dump_campaign(campaign_id)


@pytest.mark.slow
def test_a_short_campaign_records_the_same_rows_on_postgresql_as_on_sqlite(
    postgres_url, request, tmp_path, monkeypatch
):
    """FAST, seed 1: the shared SQLite record of `recorded_pendulum` is the reference.

    FAST stops after two iterations here (the law is accepted), so this is the
    short campaign at no extra SQLite run.
    """
    from lawloop.agent import CampaignConfig, start_campaign

    monkeypatch.chdir(tmp_path)  # to see that no checkpoint file is written here
    summary = start_campaign(
        CampaignConfig(backend="core/Pendulum-v0", seed=1, **FAST), postgres_url
    )
    _, sqlite_url, reference = request.getfixturevalue("recorded_pendulum")
    got, want = (
        dump(postgres_url, summary["campaign_id"]),
        dump(sqlite_url, reference["campaign_id"]),
    )
    assert got == want, dump_diff(got, want)
    report = check_database(postgres_url)
    assert report.ok, [str(p) for p in report.problems]
    # Checkpoints live in the database; only the campaign's log file is local.
    assert [p.name for p in tmp_path.iterdir()] == ["logs"]
    assert [p.name for p in (tmp_path / "logs").iterdir()] == [
        f"{summary['campaign_id']}.log"
    ]
    assert "checkpoints" in checkpoint_tables(postgres_url)


@pytest.mark.slow
def test_a_campaign_killed_on_postgresql_resumes_from_another_directory(
    postgres_url, request, tmp_path
):
    """SIGKILL after the first iteration, resume elsewhere: the uninterrupted record.

    Another working directory stands for another machine: all the campaign
    needs (rows and checkpoints) is on the server.
    """
    config = write_config(tmp_path / "fast.toml", FAST)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    run = [sys.executable, str(ROOT / "run.py"), "campaign"]
    options = ["--db", postgres_url, "--json"]
    start = ["start", "--backend", "core/Pendulum-v0", "--seed", "1"]
    proc = subprocess.Popen(
        [*run, *start, "--config", str(config), *options],
        cwd=first,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    engine = sa.create_engine(postgres_url)
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.exec_driver_sql("SELECT count(*) FROM decision").scalar_one():
                    break
            time.sleep(0.05)
        proc.kill()
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
        with engine.connect() as conn:
            cid, status = conn.exec_driver_sql("SELECT id, status FROM campaign").one()
    finally:
        engine.dispose()
    assert status == "running"  # killed, so nobody marked it
    resumed = subprocess.run(
        [*run, "resume", cid[:8], *options],
        cwd=second,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished(resumed.returncode), resumed.stderr[-2000:]
    _, sqlite_url, reference = request.getfixturevalue("recorded_pendulum")
    got, want = dump(postgres_url, cid), dump(sqlite_url, reference["campaign_id"])
    assert got == want, dump_diff(got, want)
    assert check_database(postgres_url).ok
    assert [p.name for p in second.iterdir()] == ["logs"]  # this run's log alone


@pytest.mark.slow
def test_two_campaigns_writing_one_postgresql_database_at_once_lose_nothing(
    postgres_server, tmp_path
):
    """Two `run.py campaign start` processes, one new database: each writes what it writes alone."""
    url = postgres_server(migrated=False)  # they also create the schema at once
    config = write_config(tmp_path / "tiny.toml", TINY)
    command = [sys.executable, str(ROOT / "run.py"), "campaign", "start"]
    options = ["--backend", "core/Pendulum-v0", "--config", str(config), "--db", url]
    processes = [
        subprocess.Popen(
            [*command, *options, "--seed", str(seed), "--json"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in SEEDS
    ]
    try:
        # Meanwhile, each campaign alone on SQLite, in this process.
        from lawloop.agent import CampaignConfig, start_campaign

        alone = {}
        for seed in SEEDS:
            solo_url = f"sqlite:///{tmp_path / f'alone-{seed}.db'}"
            solo = start_campaign(
                CampaignConfig(backend="core/Pendulum-v0", seed=seed, **TINY), solo_url
            )
            alone[seed] = (solo_url, dump(solo_url, solo["campaign_id"]))
        outputs = wait_all(processes, url, timeout=300)
    finally:
        for process in processes:
            process.kill()
            process.communicate()  # reap it and close its pipes
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert finished(process.returncode), err[-3000:]

    report = check_database(url)
    assert report.ok, [str(p) for p in report.problems]
    expected_rows: dict[str, int] = {}
    shas: set[str] = set()
    for seed, (out, _) in zip(SEEDS, outputs, strict=True):
        solo_url, want = alone[seed]
        got = dump(url, json.loads(out)["campaign_id"])
        assert got == want, f"seed {seed}:\n" + dump_diff(got, want)
        solo_report = check_database(solo_url)
        for table, n in solo_report.rows.items():
            expected_rows[table] = expected_rows.get(table, 0) + n
        engine = sa.create_engine(solo_url)
        with engine.connect() as conn:
            shas.update(conn.exec_driver_sql("SELECT sha256 FROM artifact").scalars())
        engine.dispose()
    with open_store(url) as store:  # the premise: they did write at the same time
        spans = [(c.created_at, c.finished_at) for c in store.list_campaigns()]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    # Nothing lost, nothing doubled: every table holds the two campaigns' rows
    # (artifacts are shared by content, so their count is that of the union).
    expected_rows["artifact"] = len(shas)
    assert report.rows == expected_rows
