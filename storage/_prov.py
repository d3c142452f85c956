"""W3C PROV-JSON for one campaign's rows (see `storage.export_prov`).

PROV mapping. Ids are `lawloop:<table>/<row id>` in the `lawloop` namespace
(`urn:lawloop:`); artifacts are `lawloop:artifact/<sha256>`. Every column of
a row becomes an attribute `lawloop:<columnInCamelCase>` (JSON columns as
canonical JSON text, without their `_json` suffix).

* Entities: the campaign configuration (a `prov:Plan`), each artifact
  (inputs and measured data, `lawloop:Dataset`), each hypothesis
  (`prov:value` is its expression), each fit result
  (`lawloop:model_fit/<id>`), and each prompt template (a `prov:Plan`).
* Activities: the campaign; its iterations, started by it; and the nodes,
  each started by its iteration: experiment runs, planner calls (also typed
  `lawloop:SymbolicRegression` when the planner is `sr:...`), fits
  (`lawloop:fitting/<id>`, which generates the fit entity) and decisions.
* Agents: lawloop at its code version, each backend, each planner (acting
  on behalf of lawloop), and the person if the environment records a `user`.
* Relations from columns: a run used its inputs and generated its data,
  derived from them; a fit used its hypothesis, training and test data, and
  is derived from them; a decision used the hypothesis it is about; each
  activity is associated with its agent, and times come from the rows.
* Relations from lineage edges, one each, identified
  `lawloop:lineage_edge/<edge id>` and carrying `lawloop:relation` (the
  edge's kind); PROV reads some edges the other way round::

      H derived-from H2   wasDerivedFrom(H, H2), prov:type prov:Revision
      H tested-by F       wasDerivedFrom(F, H), activity fitting F
      H proposed-by C     wasGeneratedBy(H, C) for the first such edge of H,
                          wasInfluencedBy(H, C) for a re-proposal
      H supported-by D    wasInfluencedBy(H, D)
      D supported-by F    used(D, F)
      H refuted-by D      wasInvalidatedBy(H, D)
      H replaced-by H2    wasInfluencedBy(H, H2)
      F fitted-on R       wasInformedBy(fitting F, R)
      F fitted-on A       used(fitting F, A)
      A produced-by R     wasGeneratedBy(A, R)
      any other           wasInfluencedBy(source, target)

  A relation from columns equal to one from an edge is left out.

Times: a run's or planner call's row is written when it ends, so it ends at
`created_at` and started `duration_s` (`latency_s`) earlier; fits and
decisions are instants at `created_at`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from lawloop.storage._prov_json import (
    ACTIVITY_KINDS,
    BLANK,
    LAWLOOP_NAMESPACE,
    PREFIXES,
    QName,
    attributes,
    columns,
    local_name,
    prov_id,
    prov_types,
)
from lawloop.storage._records import (
    CampaignRecord,
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    IterationRecord,
    PlannerCallRecord,
    RunRecord,
)

__all__ = ["LAWLOOP_NAMESPACE", "CampaignRows", "local_name", "prov_document"]


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignRows:
    """Every row of one campaign, read once; the input of `prov_document`.

    Built by `storage._export` from a `Store`; this module itself reads no
    database.
    """

    campaign: CampaignRecord
    iterations: list[IterationRecord]
    runs: list[RunRecord]
    calls: list[PlannerCallRecord]
    hypotheses: list[HypothesisRecord]
    fits: list[FitRecord]
    decisions: list[DecisionRecord]
    edges: list[EdgeRecord]
    artifacts: dict[str, tuple[str, ...]]
    """Each artifact the campaign names, with what it served as."""
    stored: dict[str, tuple[str, int]]
    """Media type and size of each of those that is stored."""


class _Prov:
    """A PROV-JSON document under construction."""

    def __init__(self, rows: CampaignRows) -> None:
        self.rows = rows
        self.doc: dict[str, dict[str, Any]] = {
            "prefix": dict(PREFIXES),
            "entity": {},
            "activity": {},
            "agent": {},
            **{kind: {} for kind in BLANK},
        }
        self._seen: set[tuple[str, ...]] = set()
        self._count = dict.fromkeys(BLANK, 0)
        self._generated: set[str] = set()
        self.root = prov_id("campaign", rows.campaign.id)
        self.software = prov_id("software", f"lawloop/{rows.campaign.code_version}")
        self.iteration = {it.id: prov_id("iteration", it.id) for it in rows.iterations}

    def node(
        self, kind: str, id: str, types: tuple[QName, ...], label: str, **attrs: Any
    ) -> None:
        """Add an entity, activity or agent (the first description of an id wins)."""
        self.doc[kind].setdefault(
            id, attributes({"prov:type": types, "prov:label": label, **attrs})
        )

    def relate(
        self,
        kind: str,
        formal: Mapping[str, str | None],
        attrs: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
    ) -> None:
        """Add a relation; one without an `id` is left out if an equal one exists."""
        key = (kind, *(f"{k}={v}" for k, v in formal.items() if v))
        if id is None:
            if key in self._seen:
                return
            self._count[kind] += 1
            id = f"_:{BLANK[kind]}{self._count[kind]}"
        self._seen.add(key)
        if kind == "wasGeneratedBy":
            self._generated.add(str(formal["prov:entity"]))
        record = {k: v for k, v in formal.items() if v}
        self.doc[kind][id] = record | attributes(attrs or {})

    def start(self, node: str, starter: str | None, time: datetime) -> None:
        """`node` was started by `starter` (its iteration, else the campaign)."""
        formal = {"prov:activity": node, "prov:starter": starter or self.root}
        self.relate("wasStartedBy", formal, {"prov:time": time})

    def associate(
        self, node: str, agent: str, plan: str | None = None, role: str | None = None
    ) -> None:
        """Associate an activity with its agent, plan and role."""
        formal = {"prov:activity": node, "prov:agent": agent, "prov:plan": plan}
        self.relate(
            "wasAssociatedWith", formal, {"prov:role": QName(role) if role else None}
        )

    def use(
        self, node: str, entity: str, role: str, time: datetime | None = None
    ) -> None:
        """Activity `node` used `entity` as `role`."""
        formal = {"prov:activity": node, "prov:entity": entity}
        self.relate("used", formal, {"prov:role": QName(role), "prov:time": time})

    def build(self) -> dict[str, Any]:
        """The whole document, without empty sections."""
        self._agents()
        self._campaign()
        self._edges()  # first, so that equal relations from columns are left out
        self._runs()
        self._calls()
        self._hypotheses()
        self._fits()
        self._decisions()
        return {k: v for k, v in self.doc.items() if v}

    def _agents(self) -> None:
        campaign = self.rows.campaign
        env = campaign.environment_json
        env = env if isinstance(env, Mapping) else {}
        self.node(
            "agent",
            self.software,
            prov_types("prov:SoftwareAgent"),
            f"lawloop {campaign.code_version}",
            **{
                "lawloop:codeVersion": campaign.code_version,
                "lawloop:host": env.get("hostname"),
            },
        )
        user = env.get("user")
        if isinstance(user, str) and user:
            person = prov_id("person", user)
            self.node("agent", person, prov_types("prov:Person"), user)
            self.relate(
                "actedOnBehalfOf",
                {"prov:delegate": self.software, "prov:responsible": person},
            )
            self.associate(self.root, person, role="lawloop:operator")
        for name in dict.fromkeys(
            [campaign.planner, *(c.planner for c in self.rows.calls)]
        ):
            engine, _, detail = name.partition(":")
            agent = prov_id("planner", name)
            self.node(
                "agent",
                agent,
                prov_types("prov:SoftwareAgent", "lawloop:Planner"),
                f"planner {name}",
                **{
                    "lawloop:planner": name,
                    "lawloop:model": detail if engine == "llm" else None,
                    "lawloop:engine": detail if engine == "sr" else None,
                },
            )
            self.relate(
                "actedOnBehalfOf",
                {"prov:delegate": agent, "prov:responsible": self.software},
            )
        for backend in dict.fromkeys(
            [campaign.backend_id, *(r.backend_id for r in self.rows.runs)]
        ):
            ours = backend == campaign.backend_id
            self.node(
                "agent",
                prov_id("backend", backend),
                prov_types("prov:SoftwareAgent", "lawloop:Backend"),
                backend,
                **{
                    "lawloop:backendId": backend,
                    "lawloop:description": env.get("backend") if ours else None,
                },
            )

    def _campaign(self) -> None:
        campaign = self.rows.campaign
        config = f"{self.root}/config"
        self.node(
            "entity",
            config,
            prov_types("prov:Plan", "lawloop:CampaignConfig"),
            f"configuration of campaign {campaign.name}",
            **{"lawloop:config": campaign.config_json},
        )
        self.node(
            "activity",
            self.root,
            prov_types("lawloop:Campaign"),
            campaign.name,
            **{
                "prov:startTime": campaign.created_at,
                "prov:endTime": campaign.finished_at,
            },
            **columns(campaign),
        )
        self.use(self.root, config, "lawloop:configuration")
        self.associate(self.root, self.software, plan=config)
        for it in self.rows.iterations:
            node = self.iteration[it.id]
            self.node(
                "activity",
                node,
                prov_types("lawloop:Iteration"),
                f"iteration {it.index}",
                **{"prov:startTime": it.started_at, "prov:endTime": it.finished_at},
                **columns(it),
            )
            self.start(node, self.root, it.started_at)
            self.associate(node, self.software)
        for sha, roles in self.rows.artifacts.items():
            media_type, size = self.rows.stored.get(sha, (None, None))
            self.node(
                "entity",
                prov_id("artifact", sha),
                prov_types("lawloop:Dataset"),
                f"{roles[0] if roles else 'artifact'} {sha[:12]}",
                **{
                    "lawloop:sha256": sha,
                    "lawloop:mediaType": media_type,
                    "lawloop:sizeBytes": size,
                    "lawloop:role": roles,
                },
            )

    def _edges(self) -> None:
        times = {d.id: d.created_at for d in self.rows.decisions}
        times.update((h.id, h.created_at) for h in self.rows.hypotheses)
        timed = {"wasGeneratedBy": "source_id", "wasInvalidatedBy": "target_id"}
        for edge in self.rows.edges:
            kind, formal = self._edge_relation(edge)
            revision = kind == "wasDerivedFrom" and edge.relation == "derived-from"
            attrs = {
                "prov:time": times.get(getattr(edge, timed[kind]))
                if kind in timed
                else None,
                "prov:type": prov_types("prov:Revision") if revision else (),
                "lawloop:relation": edge.relation,
            }
            self.relate(kind, formal, attrs, id=prov_id("lineage_edge", edge.id))

    def _edge_relation(self, edge: EdgeRecord) -> tuple[str, dict[str, str | None]]:
        """The PROV relation kind and formal attributes of one lineage edge."""
        skind, tkind, rel = edge.source_kind, edge.target_kind, edge.relation
        source, target = prov_id(skind, edge.source_id), prov_id(tkind, edge.target_id)
        s_act, t_act = skind in ACTIVITY_KINDS, tkind in ACTIVITY_KINDS
        if rel == "derived-from" and not (s_act or t_act):
            return "wasDerivedFrom", {
                "prov:generatedEntity": source,
                "prov:usedEntity": target,
            }
        if rel == "tested-by" and tkind == "model_fit" and not s_act:
            return "wasDerivedFrom", {
                "prov:generatedEntity": target,
                "prov:usedEntity": source,
                "prov:activity": prov_id("fitting", edge.target_id),
            }
        generates = rel == "produced-by" or source not in self._generated
        if rel in ("proposed-by", "produced-by") and not s_act and t_act and generates:
            return "wasGeneratedBy", {"prov:entity": source, "prov:activity": target}
        if rel == "supported-by" and s_act and not t_act:
            return "used", {"prov:activity": source, "prov:entity": target}
        if rel == "refuted-by" and not s_act and t_act:
            return "wasInvalidatedBy", {"prov:entity": source, "prov:activity": target}
        if rel == "fitted-on" and skind == "model_fit":
            fitting = prov_id("fitting", edge.source_id)
            if t_act:
                return "wasInformedBy", {
                    "prov:informed": fitting,
                    "prov:informant": target,
                }
            return "used", {"prov:activity": fitting, "prov:entity": target}
        return "wasInfluencedBy", {"prov:influencee": source, "prov:influencer": target}

    def _runs(self) -> None:
        for run in self.rows.runs:
            node = prov_id("experiment_run", run.id)
            start = run.created_at - timedelta(seconds=run.duration_s)
            self.node(
                "activity",
                node,
                prov_types("lawloop:ExperimentRun"),
                f"{run.n_points} points on {run.backend_id}",
                **{"prov:startTime": start, "prov:endTime": run.created_at},
                **columns(run),
            )
            self.start(node, self.iteration.get(run.iteration_id or ""), start)
            self.associate(
                node, prov_id("backend", run.backend_id), role="lawloop:instrument"
            )
            inputs = prov_id("artifact", run.inputs_sha256)
            self.use(node, inputs, "lawloop:inputs", start)
            if run.data_sha256:
                data = prov_id("artifact", run.data_sha256)
                generation = {"prov:entity": data, "prov:activity": node}
                attrs = {
                    "prov:time": run.created_at,
                    "prov:role": QName("lawloop:measurements"),
                }
                self.relate("wasGeneratedBy", generation, attrs)
                derivation = {"prov:generatedEntity": data, "prov:usedEntity": inputs}
                self.relate("wasDerivedFrom", derivation | {"prov:activity": node})

    def _calls(self) -> None:
        for call in self.rows.calls:
            node = prov_id("planner_call", call.id)
            start = call.created_at - timedelta(seconds=call.latency_s)
            sr = (
                ("lawloop:SymbolicRegression",)
                if call.planner.startswith("sr:")
                else ()
            )
            self.node(
                "activity",
                node,
                prov_types("lawloop:PlannerCall", *sr),
                f"{call.planner} {call.template_name}",
                **{"prov:startTime": start, "prov:endTime": call.created_at},
                **columns(call),
            )
            self.start(node, self.iteration.get(call.iteration_id or ""), start)
            template = prov_id("template", call.template_sha256)
            self.node(
                "entity",
                template,
                prov_types("prov:Plan", "lawloop:Template"),
                call.template_name,
                **{
                    "lawloop:templateName": call.template_name,
                    "lawloop:templateSha256": call.template_sha256,
                },
            )
            self.associate(node, prov_id("planner", call.planner), plan=template)

    def _hypotheses(self) -> None:
        for hyp in self.rows.hypotheses:
            node = prov_id("hypothesis", hyp.id)
            self.node(
                "entity",
                node,
                prov_types("lawloop:Hypothesis"),
                hyp.statement or hyp.expression,
                **{"prov:value": hyp.expression},
                **columns(hyp),
            )
            if node not in self._generated:  # no call proposed it: its iteration did
                origin = self.iteration.get(hyp.iteration_id or "", self.root)
                formal = {"prov:entity": node, "prov:activity": origin}
                self.relate("wasGeneratedBy", formal, {"prov:time": hyp.created_at})

    def _fits(self) -> None:
        expression = {h.id: h.expression for h in self.rows.hypotheses}
        for fit in self.rows.fits:
            entity, activity = prov_id("model_fit", fit.id), prov_id("fitting", fit.id)
            label = f"fit of {expression.get(fit.hypothesis_id, fit.hypothesis_id)}"
            self.node(
                "activity",
                activity,
                prov_types("lawloop:Fitting"),
                label,
                **{"prov:startTime": fit.created_at, "prov:endTime": fit.created_at},
                **{"lawloop:method": fit.method},
            )
            self.start(
                activity, self.iteration.get(fit.iteration_id or ""), fit.created_at
            )
            self.associate(activity, self.software)
            self.node(
                "entity", entity, prov_types("lawloop:ModelFit"), label, **columns(fit)
            )
            generation = {"prov:entity": entity, "prov:activity": activity}
            self.relate("wasGeneratedBy", generation, {"prov:time": fit.created_at})
            inputs = [(prov_id("hypothesis", fit.hypothesis_id), "hypothesis")]
            inputs += [
                (prov_id("artifact", s), "trainingData")
                for s in fit.train_data_json or []
            ]
            inputs += [
                (prov_id("artifact", s), "testData") for s in fit.test_data_json or []
            ]
            for used, role in inputs:
                self.use(activity, used, f"lawloop:{role}")
                derivation = {"prov:generatedEntity": entity, "prov:usedEntity": used}
                self.relate("wasDerivedFrom", derivation | {"prov:activity": activity})

    def _decisions(self) -> None:
        for decision in self.rows.decisions:
            node = prov_id("decision", decision.id)
            self.node(
                "activity",
                node,
                prov_types("lawloop:Decision"),
                f"{decision.kind}: {decision.reason}",
                **{
                    "prov:startTime": decision.created_at,
                    "prov:endTime": decision.created_at,
                },
                **columns(decision),
            )
            self.start(
                node,
                self.iteration.get(decision.iteration_id or ""),
                decision.created_at,
            )
            self.associate(node, self.software)
            if decision.hypothesis_id:
                self.use(
                    node,
                    prov_id("hypothesis", decision.hypothesis_id),
                    "lawloop:subject",
                )


def prov_document(rows: CampaignRows) -> dict[str, Any]:
    """The PROV-JSON document of one campaign's rows (mapping in the module docstring)."""
    return _Prov(rows).build()
