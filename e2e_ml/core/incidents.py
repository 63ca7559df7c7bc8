"""Incidents: what a person is told about failing checks, as conditions rather than days.

An incident spans the consecutive failures of one check for one cause (the drifted features,
the decaying model versions; the check as a whole when it names none). It is announced once
when it opens, updated while it lasts after one update interval, then after two, four, ...
(at once if it turns from WARN to ERROR), and announced once when it closes: when the check
passes again for a day no earlier than the incident's last failing day. A drift that lasts ten
days, or a backfill of ninety, is then one incident; a tick with more news than a person reads
at a glance sends one digest instead of many messages.

Pure state: `Incidents` is serialized into an alert sensor's cursor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["ERROR", "WARN"]
DIGEST_AFTER = 3  # more messages than this in one tick become one digest
CAUSE = "cause"  # the check metadata entry naming the cause: comma-separated names


@dataclass(frozen=True)
class Observation:
    """One evaluation of a check, as the alert sensor reads it."""

    check: str  # check name
    asset: str
    partition: str | None
    passed: bool
    severity: Severity
    causes: frozenset[str]
    summary: str
    facts: dict[str, str]
    at: float  # when it was evaluated (epoch seconds)


@dataclass
class Incident:
    check: str
    asset: str
    severity: Severity
    causes: list[str]
    first_partition: str | None
    last_partition: str | None
    failing_days: int
    summary: str
    facts: dict[str, str]
    opened_at: float
    announced_at: float  # when the last message about it went out
    updates: int = 0  # updates sent so far: each waits twice as long as the one before

    def span(self) -> str:
        if self.first_partition is None:
            return ""
        if self.first_partition == self.last_partition:
            return f" for {self.first_partition}"
        return f" for {self.first_partition} .. {self.last_partition} ({self.failing_days} days)"


@dataclass(frozen=True)
class Message:
    kind: Literal["opened", "updated", "closed", "digest"]
    severity: Severity
    check: str
    asset: str
    title: str
    summary: str
    facts: dict[str, str]


@dataclass
class Incidents:
    open: list[Incident] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: list[dict]) -> Incidents:
        return cls([Incident(**item) for item in raw])

    def to_json(self) -> list[dict]:
        return [asdict(incident) for incident in self.open]

    def observe(self, observations: list[Observation], now: float, update_seconds: float) -> list[Message]:
        """Fold a tick's evaluations (oldest first) into the incidents; the messages to send."""
        opened: list[Incident] = []
        touched: dict[int, Incident] = {}
        escalated: set[int] = set()
        closed: list[tuple[Incident, Observation]] = []
        for seen in observations:
            if seen.passed:
                ending = [
                    i for i in self.open if i.check == seen.check and _not_after(i.last_partition, seen)
                ]
                self.open = [i for i in self.open if all(i is not e for e in ending)]
                closed += [(incident, seen) for incident in ending]
                continue
            incident = next((i for i in self.open if i.check == seen.check and _same_cause(i, seen)), None)
            if incident is None:
                incident = Incident(
                    check=seen.check,
                    asset=seen.asset,
                    severity=seen.severity,
                    causes=sorted(seen.causes),
                    first_partition=seen.partition,
                    last_partition=seen.partition,
                    failing_days=1,
                    summary=seen.summary,
                    facts=seen.facts,
                    opened_at=seen.at,
                    announced_at=now,
                )
                self.open.append(incident)
                opened.append(incident)
                continue
            if seen.severity == "ERROR" and incident.severity == "WARN":
                incident.severity = "ERROR"
                escalated.add(id(incident))
            if seen.partition != incident.last_partition and (
                incident.last_partition is None or (seen.partition or "") > incident.last_partition
            ):
                incident.last_partition = seen.partition
                incident.failing_days += 1
            incident.causes = sorted(set(incident.causes) | seen.causes)
            incident.summary, incident.facts = seen.summary, seen.facts
            touched[id(incident)] = incident
        messages = [_opened(i) for i in opened]
        for key, incident in touched.items():
            if any(incident is o for o in opened) or all(incident is not i for i in self.open):
                continue
            if key in escalated or now - incident.announced_at >= update_seconds * 2**incident.updates:
                incident.announced_at, incident.updates = now, incident.updates + 1
                messages.append(_updated(incident, escalated=key in escalated))
        messages += [_closed(incident, seen) for incident, seen in closed]
        return [_digest(messages)] if len(messages) > DIGEST_AFTER else messages


def _not_after(last_failing: str | None, passing: Observation) -> bool:
    """A pass ends an incident unless it judged an earlier day (a re-run of an old, clean day)."""
    return last_failing is None or passing.partition is None or passing.partition >= last_failing


def _same_cause(incident: Incident, seen: Observation) -> bool:
    return (not incident.causes and not seen.causes) or bool(set(incident.causes) & seen.causes)


def _what(incident: Incident) -> str:
    cause = f" ({', '.join(incident.causes)})" if incident.causes else ""
    return f"check {incident.check} on {incident.asset}{cause}"


def _opened(incident: Incident) -> Message:
    return Message(
        "opened",
        incident.severity,
        incident.check,
        incident.asset,
        f"Check {incident.check} failed on {incident.asset}{incident.span()}",
        incident.summary,
        incident.facts,
    )


def _updated(incident: Incident, escalated: bool) -> Message:
    how = "now ERROR" if escalated else "still failing"
    return Message(
        "updated",
        incident.severity,
        incident.check,
        incident.asset,
        f"Incident {how}: {_what(incident)}{incident.span()}",
        incident.summary,
        incident.facts,
    )


def _closed(incident: Incident, seen: Observation) -> Message:
    on = f" for {seen.partition}" if seen.partition else ""
    return Message(
        "closed",
        incident.severity,
        incident.check,
        incident.asset,
        f"Resolved: {_what(incident)} passed{on}",
        f"It had failed{incident.span() or ' since it opened'}.",
        {"failing days": str(incident.failing_days)},
    )


def _digest(messages: list[Message]) -> Message:
    severity: Severity = "ERROR" if any(m.severity == "ERROR" for m in messages) else "WARN"
    counts = {kind: sum(m.kind == kind for m in messages) for kind in ("opened", "updated", "closed")}
    return Message(
        "digest",
        severity,
        "",
        "",
        f"{len(messages)} incident changes at once: "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n),
        "A catch-up or backfill judged many days in one go; each line is one incident.",
        {f"{m.kind} {n + 1}": f"[{m.severity}] {m.title}" for n, m in enumerate(messages)},
    )
