"""Export a campaign as W3C PROV-JSON, or as an RO-Crate 1.1 directory for archiving.

Both are built from the stored rows with the standard library alone (the
tests read them back with the `prov` and `rocrate` packages), and the same
rows always give the same bytes.

The mapping from rows to PROV is documented in `storage._prov`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lawloop.storage._models import Artifact, ModelFit
from lawloop.storage._prov import CampaignRows, local_name, prov_document
from lawloop.storage._records import CampaignRecord, FitRecord, RunRecord, to_record
from lawloop.storage._store import Store
from lawloop.storage.errors import IntegrityError

__all__ = ["RO_CRATE_CONTEXT", "export_prov", "export_ro_crate"]

RO_CRATE_CONTEXT = "https://w3id.org/ro/crate/1.1/context"
"""The JSON-LD context of RO-Crate 1.1, which the crate's metadata uses."""

_SCHEMA = "http://schema.org/"
_ACTION_STATUS = {
    "created": "PotentialActionStatus",
    "running": "ActiveActionStatus",
    "interrupted": "ActiveActionStatus",
    "finished": "CompletedActionStatus",
    "failed": "FailedActionStatus",
}


def _load(store: Store, campaign_id: str) -> CampaignRows:
    """Read one campaign (id, unique prefix or name)."""
    campaign = store.get_campaign(campaign_id)
    cid = campaign.id
    statement = sa.select(ModelFit).where(ModelFit.campaign_id == cid)
    with Session(store.engine) as session:
        rows = session.scalars(statement.order_by(ModelFit.seq))
        fits = [to_record(FitRecord, row) for row in rows]
    runs, edges = store.runs_for(cid), store.edges_for(cid)
    roles: dict[str, list[str]] = {}

    def add(sha: Any, role: str | None) -> None:
        if isinstance(sha, str) and sha:
            seen = roles.setdefault(sha, [])
            if role and role not in seen:
                seen.append(role)

    for run in runs:
        add(run.inputs_sha256, "inputs")
        add(run.data_sha256, "measurements")
    for fit in fits:
        for sha in fit.train_data_json or []:
            add(sha, "training data")
        for sha in fit.test_data_json or []:
            add(sha, "test data")
    for edge in edges:
        for kind, key in (
            (edge.source_kind, edge.source_id),
            (edge.target_kind, edge.target_id),
        ):
            if kind == "artifact":
                add(key, None)
    wanted = sorted(roles)
    query = sa.select(Artifact.sha256, Artifact.media_type, Artifact.size_bytes)
    stored: dict[str, tuple[str, int]] = {}
    with Session(store.engine) as session:
        for start in range(0, len(wanted), 500):  # below SQLite's parameter limit
            chunk = query.where(Artifact.sha256.in_(wanted[start : start + 500]))
            stored.update(
                (sha, (media, size)) for sha, media, size in session.execute(chunk)
            )
    return CampaignRows(
        campaign=campaign,
        iterations=store.iterations_for(cid),
        runs=runs,
        calls=store.planner_calls_for(cid),
        hypotheses=store.list_hypotheses(cid),
        fits=fits,
        decisions=store.decisions_for(cid),
        edges=edges,
        artifacts={sha: tuple(r) for sha, r in roles.items()},
        stored=stored,
    )


def export_prov(store: Store, campaign_id: str) -> dict[str, Any]:
    """Describe one campaign as a W3C PROV-JSON document.

    `storage._prov` documents the mapping from rows and lineage edges to
    PROV. The result is plain JSON (`json.dumps` it); the `prov` package
    reads it with `ProvDocument.deserialize(content=..., format="json")`.

    Args:
        store: The provenance store.
        campaign_id: Campaign id, unique id prefix, or name.

    Returns:
        The PROV-JSON document: `prefix`, `entity`, `activity`, `agent`,
        and one section per relation kind present.

    Raises:
        NotFoundError: No such campaign.
        AmbiguousIdError: The prefix matches several campaigns.
    """
    return prov_document(_load(store, campaign_id))


def _dumps(doc: Any) -> bytes:
    """Deterministic, strict, readable JSON bytes."""
    return (
        json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode()


def _write(
    target: Path, path: str, data: bytes, name: str, media_type: str, **extra: Any
) -> dict[str, Any]:
    """Write `data` at `target/path`; return its RO-Crate `File` data entity."""
    (target / path).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return {
        "@id": path,
        "@type": "File",
        "name": name,
        "encodingFormat": media_type,
        "contentSize": str(len(data)),
        "sha256": digest,
        **extra,
    }


def _artifact_bytes(store: Store, sha256: str) -> bytes:
    """The stored bytes of one artifact, checked against their hash."""
    with Session(store.engine) as session:
        data = session.scalar(sa.select(Artifact.data).where(Artifact.sha256 == sha256))
    data = bytes(data or b"")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        msg = (
            f"Artifact `{sha256}` is corrupt: its bytes hash to `{actual}`. "
            "The database was changed outside lawloop; restore it from a backup."
        )
        raise IntegrityError(msg)
    return data


def export_ro_crate(store: Store, campaign_id: str, directory: str | Path) -> Path:
    """Write one campaign as an RO-Crate 1.1 directory, for sharing and archiving.

    The crate holds `ro-crate-metadata.json`, whose root dataset describes
    the campaign; `prov.json`, the `export_prov` document; `config.json`,
    the frozen campaign configuration; and `data/<sha256>.npz`, the stored
    bytes of every artifact, so that each file's sha256 is its name.
    Contextual entities describe lawloop and the backends; the campaign and
    each experiment run are `CreateAction`s (a run's object is its inputs
    file, its result its data file). `datePublished` is the campaign's
    finish time (else its start), so exporting a campaign twice gives the
    same bytes.

    Args:
        store: The provenance store.
        campaign_id: Campaign id, unique id prefix, or name.
        directory: Where to write the crate; created if missing, and it
            must be empty if it exists.

    Returns:
        The crate's directory.

    Raises:
        NotFoundError: No such campaign.
        AmbiguousIdError: The prefix matches several campaigns.
        FileExistsError: `directory` is a file, or a directory that is not empty.
        IntegrityError: An artifact's bytes no longer match their hash.
    """
    rows = _load(store, campaign_id)
    campaign = rows.campaign
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        msg = f"`{target}` exists and is not an empty directory; choose a new path for the RO-Crate."
        raise FileExistsError(msg)
    (target / "data").mkdir(parents=True, exist_ok=True)

    files, path_of = _write_files(store, rows, target)
    backends = {
        b: {
            "@id": f"#backend-{local_name(b)}",
            "@type": "SoftwareApplication",
            "name": b,
            "identifier": b,
            "description": "lawloop experiment backend",
        }
        for b in dict.fromkeys(
            [campaign.backend_id, *(r.backend_id for r in rows.runs)]
        )
    }
    actions = [_campaign_action(campaign)]
    actions += [_run_action(run, backends, path_of) for run in rows.runs]
    software = {
        "@id": "#lawloop",
        "@type": "SoftwareApplication",
        "name": "lawloop",
        "description": "Closed-loop discovery of physical laws.",
        "version": campaign.code_version,
    }
    descriptor = {
        "@id": "ro-crate-metadata.json",
        "@type": "CreativeWork",
        "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"},
        "about": {"@id": "./"},
    }
    root = _root_dataset(campaign, files, actions)
    graph = [descriptor, root, *files, software, *backends.values(), *actions]
    metadata = {
        "@context": [RO_CRATE_CONTEXT, {"sha256": _SCHEMA + "sha256"}],
        "@graph": graph,
    }
    (target / "ro-crate-metadata.json").write_bytes(_dumps(metadata))
    return target


def _write_files(
    store: Store, rows: CampaignRows, target: Path
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Write `prov.json`, `config.json` and every stored artifact; return their entities and each artifact's path."""
    files = [
        _write(
            target,
            "prov.json",
            _dumps(prov_document(rows)),
            "W3C PROV-JSON provenance of the campaign",
            "application/json",
            conformsTo={"@id": "https://www.w3.org/submissions/prov-json/"},
            about={"@id": "./"},
        ),
        _write(
            target,
            "config.json",
            _dumps(rows.campaign.config_json),
            "Campaign configuration",
            "application/json",
        ),
    ]
    path_of: dict[str, str] = {}
    for sha, (media_type, _) in sorted(rows.stored.items()):
        suffix = ".npz" if media_type == "application/x-npz" else ".bin"
        path = path_of[sha] = f"data/{sha}{suffix}"
        roles = rows.artifacts[sha] or ("artifact",)
        description = (
            f"Named arrays ({', '.join(roles)}) in lawloop's deterministic `.npz` "
            "layout; read them with `numpy.load`."
        )
        data = _artifact_bytes(store, sha)
        name = f"{roles[0]} {sha[:12]}"
        files.append(
            _write(target, path, data, name, media_type, description=description)
        )
    return files, path_of


def _campaign_action(campaign: CampaignRecord) -> dict[str, Any]:
    """The campaign as a `CreateAction`: configuration in, PROV record out."""
    status = _ACTION_STATUS.get(campaign.status, "PotentialActionStatus")
    action: dict[str, Any] = {
        "@id": f"#campaign-{campaign.id}",
        "@type": "CreateAction",
        "name": f"lawloop campaign {campaign.name}",
        "instrument": {"@id": "#lawloop"},
        "object": [{"@id": "config.json"}],
        "result": [{"@id": "prov.json"}],
        "startTime": campaign.created_at.isoformat(),
        "actionStatus": {"@id": _SCHEMA + status},
    }
    if campaign.finished_at:
        action["endTime"] = campaign.finished_at.isoformat()
    return action


def _run_action(
    run: RunRecord, backends: Mapping[str, dict[str, Any]], path_of: dict[str, str]
) -> dict[str, Any]:
    """One experiment run as a `CreateAction`: its inputs file in, its data file out."""
    ok = "CompletedActionStatus" if run.status_code == 0 else "FailedActionStatus"
    action: dict[str, Any] = {
        "@id": f"#run-{run.id}",
        "@type": "CreateAction",
        "name": f"experiment run of {run.n_points} points",
        "description": run.design_reason,
        "instrument": {"@id": backends[run.backend_id]["@id"]},
        "startTime": (run.created_at - timedelta(seconds=run.duration_s)).isoformat(),
        "endTime": run.created_at.isoformat(),
        "actionStatus": {"@id": _SCHEMA + ok},
    }
    if run.inputs_sha256 in path_of:
        action["object"] = [{"@id": path_of[run.inputs_sha256]}]
    if run.data_sha256 in path_of:
        action["result"] = [{"@id": path_of[run.data_sha256]}]
    if run.status_message:
        action["error"] = run.status_message
    return action


def _root_dataset(
    campaign: CampaignRecord, files: list[dict[str, Any]], actions: list[dict[str, Any]]
) -> dict[str, Any]:
    """The crate's root data entity: the campaign."""
    result = campaign.result_json if isinstance(campaign.result_json, Mapping) else {}
    best = result.get("best")
    law = ""
    if isinstance(best, Mapping) and best.get("expression"):
        law = f" Best law ({best.get('status')}): {best['expression']}."
    return {
        "@id": "./",
        "@type": "Dataset",
        "name": f"lawloop campaign {campaign.name}",
        "description": (
            f"A lawloop discovery campaign on backend `{campaign.backend_id}` with "
            f"planner `{campaign.planner}` and seed {campaign.seed}; status "
            f"{campaign.status}.{law} `prov.json` is its W3C PROV record and "
            "`data/` holds every array it measured or used, named by sha256."
        ),
        "identifier": f"urn:uuid:{campaign.id}",
        "dateCreated": campaign.created_at.isoformat(),
        "datePublished": (campaign.finished_at or campaign.created_at).isoformat(),
        "keywords": ["lawloop", "provenance", "law discovery", campaign.backend_id],
        "hasPart": [{"@id": f["@id"]} for f in files],
        "mentions": [{"@id": a["@id"]} for a in actions],
    }
