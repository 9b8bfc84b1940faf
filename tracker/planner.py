"""The membership planner: the one place that decides which narrative each claim is in.

:func:`plan` is a pure function. It takes what the store holds for the claims in scope
(:class:`~tracker.records.MembershipState`: current memberships, narratives, reviewer pins and exclusions), what
the model proposes (:class:`~tracker.records.Proposal`: clusters from the clusterer, placements from cross-lingual
matching) and reviewer actions (:class:`~tracker.records.Move`, ``Exclude``, ``Merge``, ``Split``), and returns a
:class:`~tracker.records.Plan` that the store applies in one transaction. The incremental update, a rebuild,
cross-lingual placement and every review action go through it.

Reviewer decisions outrank the model, in this order:

1. A claim a reviewer pinned to a narrative is there (following reviewer merges to the surviving narrative).
2. A claim a reviewer placed, or a claim in a locked narrative, stays where it is; a locked narrative gains
   nothing either.
3. A claim never goes (back) to a narrative a reviewer excluded it from.
4. **A verdict is never dropped.** The model never moves a claim out of a narrative with a verdict into one whose
   verdict differs (none counts as different), nor leaves it without a narrative: it stays, and the pair is
   flagged ``merge-proposed`` for a reviewer. So the model never merges two narratives with different verdicts.
   A model cluster that takes claims from a verdicted narrative becomes a new narrative that inherits the verdict
   (flagged ``verdict-inherited``), so a split keeps the verdict on each part. A verdicted narrative that gains
   claims keeps its verdict; the store shows which claims joined after the verdict was given.

The model's clusters are tied to narrative ids by overlap: the cluster sharing the most current members with a
narrative continues it (ties go to narratives a reviewer worked on), one cluster per narrative, except that a
cluster whose claims a reviewer pinned to one narrative continues that narrative (a reviewer merge joins clusters
the model keeps apart). Other clusters become new narratives. A narrative left with no claims is ``merged`` into
the narrative the clusterer put all of them in, else ``dissolved``; one that lost claims to a new narrative was
``split``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from tracker import TrackerError
from tracker.records import (
    Event,
    Exclude,
    Flag,
    MembershipState,
    Merge,
    Move,
    NarrativeState,
    NewNarrative,
    Plan,
    Proposal,
    Split,
)

Action = Move | Exclude | Merge | Split
_STAY = object()  # sentinel: the claim keeps its narrative


class ReviewError(TrackerError):
    """A review action refers to something missing or would break the store's rules."""


def plan(state: MembershipState, proposal: Proposal | None = None, actions: Sequence[Action] = ()) -> Plan:
    """Decide memberships for the claims in scope (see the module docstring for the rules).

    Args:
        state: the store's memberships and reviewer constraints for the claims in scope.
        proposal: the model's clusters and placements (none for a review action).
        actions: reviewer actions, applied in order before the model's proposal.

    Returns:
        The plan: created narratives, changed memberships, status changes, constraints, history and flags.

    Raises:
        ReviewError: an action names a narrative that is not active, or breaks a rule (a split taking every
            claim, a merge of narratives with different verdicts, ...).
    """
    return _Planner(state, proposal or Proposal()).run(actions)


class _Planner:
    def __init__(self, state: MembershipState, proposal: Proposal) -> None:
        self.state = state
        self.proposal = proposal
        self.narratives: dict[int, NarrativeState] = dict(state.narratives)
        self.status: dict[int, tuple[str, int | None]] = {}
        self.pins = dict(state.pins)
        self.excludes = set(state.excludes)
        self.desired: dict[int, int | None] = {}
        self.plan = Plan()
        self.new_cluster: dict[int, int] = {}  # model cluster -> key of the narrative created for it
        self.blocked: Counter[tuple[int, int]] = Counter()

    # --- narratives -------------------------------------------------------------------------------------------

    def _status(self, n: int) -> tuple[str, int | None]:
        if n in self.status:
            return self.status[n]
        if n < 0:
            return "active", None
        info = self.narratives.get(n)
        return (info.status, info.merged_into) if info else ("missing", None)

    def live(self, n: int | None) -> int | None:
        """Follow merges from ``n`` to the narrative that holds its claims now."""
        seen: set[int] = set()
        while n is not None and n not in seen:
            status, into = self._status(n)
            if status != "merged" or into is None:
                return n
            seen.add(n)
            n = into
        return n

    def active(self, n: int | None) -> bool:
        return n is not None and self._status(n)[0] == "active"

    def locked(self, n: int) -> bool:
        return n >= 0 and n in self.narratives and self.narratives[n].locked

    def verdict(self, n: int | None) -> str | None:
        if n is None:
            return None
        source = self.plan.inherit_verdict.get(n)
        if source is not None:
            return self.verdict(source)
        info = self.narratives.get(n)
        return info.verdict if info else None

    def need_active(self, n: int) -> int:
        status, _ = self._status(n)
        if status == "missing":
            raise ReviewError(f"no narrative {n}")
        if status != "active":
            raise ReviewError(f"narrative {n} is {status}, not active")
        return n

    def create(self, *, label: str | None = None, label_locked: bool = False, **origin: int) -> int:
        key = -(len(self.plan.create) + 1)
        self.plan.create.append(NewNarrative(key=key, label=label, label_locked=label_locked, origin=origin))
        self.plan.history.append(Event("created", key, origin.get("split_from"), dict(origin)))
        return key

    def inherit(self, key: int, source: int) -> None:
        self.plan.inherit_verdict[key] = source
        self.plan.flags.append(Flag("verdict-inherited", key, source, {"verdict": self.verdict(source)}))
        self.plan.history.append(Event("verdict-inherited", key, source, {"verdict": self.verdict(source)}))

    # --- constraints ------------------------------------------------------------------------------------------

    def pin(self, claim: int, n: int) -> None:
        old = self.pins.get(claim)
        if old is not None and old != n:
            self.plan.unconstrain.add(("pin", claim, old))
            self.plan.pins.discard((claim, old))
        self.pins[claim] = n
        self.plan.pins.add((claim, n))
        self.unexclude(claim, n)

    def unpin(self, claim: int, n: int) -> None:
        if self.pins.get(claim) == n:
            del self.pins[claim]
            self.plan.unconstrain.add(("pin", claim, n))
            self.plan.pins.discard((claim, n))

    def exclude(self, claim: int, n: int) -> None:
        self.excludes.add((claim, n))
        self.plan.excludes.add((claim, n))
        self.plan.unconstrain.discard(("exclude", claim, n))
        self.unpin(claim, n)

    def unexclude(self, claim: int, n: int) -> None:
        if (claim, n) in self.excludes:
            self.excludes.discard((claim, n))
            self.plan.excludes.discard((claim, n))
            self.plan.unconstrain.add(("exclude", claim, n))

    def current(self, claim: int) -> int | None:
        return self.state.members.get(claim)

    def decide(self, claim: int, target: int | None, *, reviewer: bool = False) -> None:
        self.desired[claim] = target
        if reviewer and target is not None:
            self.plan.by_reviewer.add(claim)

    # --- reviewer actions -------------------------------------------------------------------------------------

    def run(self, actions: Iterable[object]) -> Plan:
        for action in actions:
            if isinstance(action, Move):
                self._move(action)
            elif isinstance(action, Exclude):
                self._exclude(action)
            elif isinstance(action, Merge):
                self._merge(action)
            elif isinstance(action, Split):
                self._split(action)
            else:  # pragma: no cover - a programming error
                raise TypeError(f"not a review action: {action!r}")
        self._model()
        return self._finish()

    def _move(self, action: Move) -> None:
        to = self.need_active(action.to)
        claim = action.claim_id
        before = self.desired.get(claim, self.current(claim))
        if before == to:
            raise ReviewError(f"claim {claim} is already in narrative {to}")
        self.pin(claim, to)
        if before is not None:
            self.exclude(claim, before)
            self.plan.history.append(Event("moved", before, to, {"claim": claim}))
        self.plan.history.append(Event("moved", to, before, {"claim": claim}))
        self.decide(claim, to, reviewer=True)

    def _exclude(self, action: Exclude) -> None:
        if self._status(action.narrative_id)[0] == "missing":
            raise ReviewError(f"no narrative {action.narrative_id}")
        claim, n = action.claim_id, action.narrative_id
        self.exclude(claim, n)
        if self.desired.get(claim, self.current(claim)) == n:
            self.decide(claim, None)

    def _merge(self, action: Merge) -> None:
        into = self.need_active(action.into)
        sources = sorted({int(s) for s in action.sources} - {into})
        if not sources:
            raise ReviewError("choose at least one narrative to merge into another")
        for source in sources:
            self.need_active(source)
        verdicts = {n: self.verdict(n) for n in [into, *sources] if self.verdict(n)}
        if len(set(verdicts.values())) > 1:
            listed = ", ".join(f"#{n} {v}" for n, v in verdicts.items())
            raise ReviewError(f"these narratives have different verdicts ({listed}): give them one verdict before "
                              "merging, so none is lost")
        if verdicts and into not in verdicts:
            source = next(iter(verdicts))
            self.plan.inherit_verdict[into] = source
            self.plan.history.append(Event("verdict-inherited", into, source, {"verdict": verdicts[source]}))
        for source in sources:
            self.status[source] = ("merged", into)
            self.plan.status[source] = ("merged", into)
            self.plan.history.append(Event("merged", source, into, {"into": into}))
        self.plan.history.append(Event("merged", into, None, {"from": sources}))
        merged = set(sources)
        # constraints naming a merged narrative now name the narrative that holds its claims
        for claim, n in sorted(self.pins.items()):
            if n in merged:
                self.pin(claim, into)
        for claim, n in sorted(self.excludes):
            if n in merged:
                self.unexclude(claim, n)
                self.exclude(claim, into)
        # the reviewer decided these claims belong together: they are pinned, so the model cannot split them
        # apart again; a claim a reviewer excluded from any of them stays out
        for claim, n in sorted(self.state.members.items()):
            if self.desired.get(claim, n) not in merged:
                continue
            if (claim, into) in self.excludes:
                self.decide(claim, None)
            else:
                self.pin(claim, into)
                self.decide(claim, into, reviewer=True)

    def _split(self, action: Split) -> None:
        n = self.need_active(action.narrative_id)
        claims = sorted({int(c) for c in action.claim_ids})
        label = (action.label or "").strip()
        if not claims:
            raise ReviewError("choose the claims to split off")
        if not label:
            raise ReviewError("the new narrative needs a label")
        missing = [c for c in claims if self.desired.get(c, self.current(c)) != n]
        if missing:
            raise ReviewError(f"claims {missing} are not in narrative {n}")
        if len(claims) >= self.narratives[n].size:
            raise ReviewError("a split must leave at least one claim behind (rename the narrative instead)")
        key = self.create(label=label, label_locked=True, split_from=n)
        if self.verdict(n):
            self.inherit(key, n)
        for claim in claims:
            self.pin(claim, key)
            self.exclude(claim, n)
            self.decide(claim, key, reviewer=True)

    # --- the model's proposal ---------------------------------------------------------------------------------

    def _match(self) -> dict[int, int]:
        """Tie each proposed cluster to the narrative it continues (see the module docstring)."""
        overlap: Counter[tuple[int, int]] = Counter()
        for (cluster, n), count in self.proposal.overlap.items():
            live = self.live(n)
            if cluster >= 0 and self.active(live):
                overlap[(cluster, live)] += count

        def reviewed(n: int) -> bool:
            info = self.narratives.get(n)
            return bool(info and (info.reviewed or info.verdict))

        mapping: dict[int, int] = {}
        used: set[int] = set()
        for (cluster, n), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], not reviewed(kv[0][1]), kv[0][1],
                                                                        kv[0][0])):
            if cluster not in mapping and n not in used:
                mapping[cluster] = n
                used.add(n)
        pinned: dict[int, Counter[int]] = defaultdict(Counter)
        for (cluster, n), count in self.proposal.pinned.items():
            target = self.live(n)
            if cluster >= 0 and cluster not in mapping and self.active(target):
                pinned[cluster][target] += count
        for claim, cluster in self.proposal.clusters.items():
            if cluster >= 0 and cluster not in mapping and claim in self.pins:
                target = self.live(self.pins[claim])
                if self.active(target):
                    pinned[cluster][target] += 1
        for cluster, votes in pinned.items():
            mapping[cluster] = votes.most_common(1)[0][0]
        return mapping

    def _model(self) -> None:
        mapping = self._match() if self.proposal.clusters else {}
        claims = sorted(set(self.proposal.clusters) | set(self.proposal.placements))
        for claim in claims:
            if claim in self.desired:
                continue  # a reviewer action in this plan decided it
            target = self._model_target(claim, mapping)
            if target is not _STAY:
                self.decide(claim, target, reviewer=claim in self.pins)  # type: ignore[arg-type]
        for (source, target), count in sorted(self.blocked.items()):
            if target >= 0:
                self.plan.flags.append(Flag("merge-proposed", source, target, {
                    "claims": count, "verdicts": [self.verdict(source), self.verdict(target)]}))

    def _model_target(self, claim: int, mapping: dict[int, int]) -> object:
        current = self.current(claim)
        if claim in self.pins:
            target = self.live(self.pins[claim])
            return target if self.active(target) else _STAY
        if current is not None and self.active(current) and (
                claim in self.state.reviewer_placed or self.locked(current)):
            return _STAY
        target: int | None
        if claim in self.proposal.clusters:
            cluster = self.proposal.clusters[claim]
            if cluster < 0:
                target = None
            elif cluster in mapping:
                target = mapping[cluster]
            else:
                target = self.new_cluster.get(cluster)
                if target is None:
                    target = self.new_cluster[cluster] = self.create(cluster=cluster)
        else:
            target = self.proposal.placements.get(claim)
        target = self.live(target)
        if target is not None and (not self.active(target) or self.locked(target) or (claim, target) in self.excludes):
            target = None
        if current is not None and self.active(current) and target != current:
            verdict = self.verdict(current)
            if verdict is not None:
                if target is not None and target < 0 and self.verdict(target) is None:
                    self.inherit(target, current)  # a new part of a verdicted narrative keeps its verdict
                elif self.verdict(target) != verdict:
                    if target is not None:
                        self.blocked[(current, target)] += 1
                    return _STAY  # a verdict is never dropped
        if target == current:
            return _STAY
        return target

    # --- narrative outcomes -----------------------------------------------------------------------------------

    def _finish(self) -> Plan:
        plan = self.plan
        leaving: dict[int, list[int | None]] = defaultdict(list)
        clustered: dict[int, bool] = defaultdict(lambda: True)  # all leaving claims moved by the clusterer
        joining: Counter[int] = Counter()
        for claim, target in self.desired.items():
            current = self.current(claim)
            if target == current:
                continue
            plan.assign[claim] = target
            if claim in self.proposal.similarity and target is not None:
                plan.similarity[claim] = self.proposal.similarity[claim]
            if current is not None:
                leaving[current].append(target)
                clustered[current] &= claim in self.proposal.clusters
                plan.touched.add(current)
                if target is not None and self.verdict(current) is not None and \
                        self.verdict(current) == self.verdict(target):
                    plan.carried.add(claim)
            if target is not None:
                joining[target] += 1
                plan.touched.add(target)
        plan.by_reviewer &= {c for c, t in plan.assign.items() if t is not None}
        emptied: set[int] = set()
        for n, targets in sorted(leaving.items()):
            info = self.narratives.get(n)
            if info is None or n in self.status:
                continue  # unknown, or merged by a reviewer in this plan
            if info.status == "active" and info.size - len(targets) + joining[n] <= 0:
                emptied.add(n)
                destinations = set(targets)
                if len(destinations) == 1 and None not in destinations and clustered[n]:
                    into = destinations.pop()
                    plan.status[n] = ("merged", into)
                    plan.history.append(Event("merged", n, into, {"claims": len(targets)}))
                else:
                    plan.status[n] = ("dissolved", None)
                    plan.history.append(Event("dissolved", n, None, {"claims": len(targets)}))
        for n, targets in sorted(leaving.items()):
            if n in emptied or n in self.status:
                continue
            for part, count in sorted(Counter(t for t in targets if t is not None and t < 0).items()):
                if any(e.event == "split" and e.narrative_id == n and e.other_id == part for e in plan.history):
                    continue
                plan.history.append(Event("split", n, part, {"claims": count}))
                plan.history.append(Event("split", part, n, {"claims": count, "from": n}))
        created = {n.key for n in plan.create}
        used = {t for t in plan.assign.values() if t is not None}
        unused = created - used
        if unused:  # a cluster none of whose claims could move there: no narrative for it
            plan.create = [n for n in plan.create if n.key not in unused]
            plan.history = [e for e in plan.history if e.narrative_id not in unused and e.other_id not in unused]
            plan.flags = [f for f in plan.flags if f.narrative_id not in unused]
            for key in unused:
                plan.inherit_verdict.pop(key, None)
        return plan
