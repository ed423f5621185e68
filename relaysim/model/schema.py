"""The scenario file's schema: every section and key, its kind, default, range, meaning
(`doc`) and the planner's words for it (`label`, read by plots, the report and the
explorer). Distribution parameters are described by their families (distributions.py).
"""

from __future__ import annotations

import re

from . import distributions as D
from .spec import REQUIRED, Spec, prob

__all__ = [
    "MAX_CLASSROOMS",
    "NAME_RE",
    "UNIT_RE",
    "SCENARIO_SPEC",
    "TANK_SPEC",
    "LEVEL_SPEC",
    "MERGED_FORBIDDEN",
    "ZONE_SPEC",
    "INITIATIVE_SPEC",
    "EFFECTS_SPEC",
    "TEMPLATE_SPEC",
    "STREAM_SPEC",
    "FEEDBACK_SPEC",
    "SHARING_SPEC",
    "NETWORKS",
    "TARGETS",
    "TRUST_DYNAMICS_SPEC",
    "WINDOW_SPEC",
    "SECTIONS",
    "SECTION_SPEC",
    "ENTITY_KEY",
    "SEGMENT_FIXED",
    "SEGMENT_SCOPE",
    "segment_may_set",
    "DIST_WORDS",
    "DRAW_WORDS",
    "label",
]

#: a scenario whose tree would hold more runners than this is refused before allocation.
#: The engine holds about 2 KB per runner and initiative in flight in every worker
#: (measured: 100,000 classrooms 0.3 GB resident, 1,000,000 classrooms 1.8 GB and 100 s
#: per replication), so 10 million (17 GB per worker) protected nothing; one million is
#: about 2 GB per worker. study/limits.py also checks the memory of each run.
MAX_CLASSROOMS = 1_000_000

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
UNIT_RE = re.compile(r"^[A-Za-z][A-Za-z ]{0,23}$")

SCENARIO_SPEC: dict[str, Spec] = {
    "name": Spec("str", "scenario", doc="short name used in outputs", label="name"),
    "description": Spec("str", "", doc="one line for humans", label="description"),
    "horizon": Spec("float", REQUIRED, 0.0, D.MAX_DAYS, lo_open=True, doc="days simulated",
                    label="days simulated"),
    "year_length": Spec("float", 180.0, 0.0, lo_open=True, doc="days per school year",
                        label="days per school year"),
    "time_unit": Spec("str", "days", doc="what one unit of the clock is called in outputs "
                      "(plural, e.g. days or seconds); labels only, the model is unchanged",
                      label="unit of time"),
}

TANK_SPEC: dict[str, Spec] = {
    "drain": Spec("float", 0.0, 0.0, doc="tank lost per day per baton being worked",
                  label="tank drain per day of work"),
    "recovery": Spec("float", 0.0, 0.0, doc="tank regained per day while idle",
                     label="tank refill per idle day"),
    "floor": Spec("float", 0.2, 0.0, 1.0, lo_open=True, doc="work slows at most to work/floor",
                  label="lowest work speed"),
    "check_tank": prob(0.0, "giver waits until the receiver's tank is at least this",
                       label="tank level required before a handoff"),
}

#: who a showcase shares with (docs/model.md 4.10)
NETWORKS = ("all", "segment", "ring", "random")
#: whom a share goes to: a neighbour that lacks the baton, or any neighbour (wasted if it
#: has the baton already)
TARGETS = ("lacking", "any")

SHARING_SPEC: dict[str, Spec] = {
    "rate": Spec("float", 4.0, 0.0, doc="shares per showcase per school year (Poisson), "
                 "times recognition", label="shares per showcase per year"),
    "recognition": Spec("float", 1.0, 0.0, doc="how much the district recognizes "
                        "showcases: scales every sharing rate (0 = no sharing; the leveling "
                        "norm is low recognition)", label="recognition of showcases"),
    "threshold": Spec("float", 0.8, 0.0, 1.0, lo_open=True,
                      doc="share of a runner's classrooms implementing that makes it a "
                      "showcase", label="share of classrooms that makes a showcase"),
    "network": Spec("str", "all", doc="who shares with whom: all, segment, ring or random",
                    label="sharing network"),
    "degree": Spec("int", 2, 1, doc="neighbours of each runner in a ring or random network",
                   label="neighbours per runner"),
    "target": Spec("str", "lacking", doc="lacking: a share goes to a neighbour that lacks "
                   "the baton; any: to any neighbour (wasted if it has the baton)",
                   label="who a share goes to"),
    "newcomer_rate": Spec("float", 0.0, 0.0, doc="visits per school year (Poisson), times "
                          "recognition, a new runner lacking the baton makes to a showcase "
                          "neighbour", label="newcomer visits per year"),
    "duration": Spec("float", 0.0, 0.0, doc="days one lateral handoff (a showcase visit) takes",
                     label="days a showcase visit takes"),
    "fumble": prob(0.0, "base probability a lateral handoff fails", hi_open=True,
                   label="fumble risk of a peer handoff"),
    "retention": prob(1.0, "fidelity kept on a lateral handoff",
                      label="fidelity kept per peer handoff"),
}

LEVEL_SPEC: dict[str, Spec] = {
    "name": Spec("name", REQUIRED, doc="level name, e.g. principal", label="name"),
    "count": Spec("int", 1, 1, doc="runners under each runner of the level above",
                  label="runners per unit above"),
    "capacity": Spec("int", 1, 1, doc="batons one runner works on at once",
                     label="batons handled at once"),
    "work": Spec("dist", D.ZERO, doc="days one runner spends on its leg for one baton",
                 label="work"),
    "trust": prob(0.5, "receivers' trust in the level above", label="trust in the level above"),
    "turnover": Spec("float", 0.0, 0.0, doc="departures per runner per school year (Poisson)",
                     label="turnover per year"),
    "vacancy": Spec("dist", D.ZERO, doc="days a post stays empty after a departure",
                    label="vacancy"),
    "new_trust": Spec("float", None, 0.0, 1.0, doc="trust of a new runner (default: trust)",
                      label="trust of a newcomer"),
    "loss_on_turnover": prob(1.0, "chance each baton the leaver held is lost",
                             label="baton loss when someone leaves"),
    "succession": Spec("float", None, 0.0, 1.0,
                       doc="with succession planning: the loss chance instead (default none)",
                       label="baton loss with succession planning"),
    "tank": Spec("table", None, doc="energy: {drain, recovery, floor, check_tank}", sub=TANK_SPEC,
                 label="tank"),
    "merged_with_parent": Spec("bool", False, doc="run by the same person as the level above",
                               label="same person as the level above"),
    "segments": Spec("segments", None, doc="[{name, share, set = {path = value}}]",
                     label="segments"),
    "sharing": Spec("opt_table", None, doc="peer sharing between this level's runners "
                    "(docs/model.md 4.10); absent: none", sub=SHARING_SPEC,
                    label="peer sharing"),
}

#: keys a merged level may not set: they belong to the person, i.e. to the parent level
MERGED_FORBIDDEN = ("count", "capacity", "trust", "turnover", "vacancy", "new_trust",
                    "loss_on_turnover", "succession", "tank", "segments", "sharing")

ZONE_SPEC: dict[str, Spec] = {
    "to": Spec("name", REQUIRED, doc="receiving level", label="receiving level"),
    "duration": Spec("dist", D.ZERO, doc="days one exchange attempt takes",
                     label="handoff time"),
    "fumble": prob(0.0, "base probability an attempt fails", hi_open=True,
                   label="fumble risk"),
    "recover": prob(0.0, "chance a fumble is caught and retried",
                    label="chance a fumble is caught"),
    "rework": Spec("dist", D.ZERO, doc="days before a caught fumble is retried",
                   label="rework time"),
    "max_attempts": Spec("int_or_unlimited", "unlimited", 1,
                         doc="attempts before the baton drops", label="tries allowed"),
    "rehearsed": Spec("bool", False, doc="practised handoff", label="rehearsed handoff"),
    "checkpoint": Spec("bool", False, doc="joint checkpoint before the exchange",
                       label="joint checkpoint before the handoff"),
    "retention": prob(1.0, "fidelity kept on a successful exchange",
                      label="fidelity kept per handoff"),
    "slots": Spec("int_or_unlimited", "unlimited", 1, doc="exchanges one giver holds at once",
                  label="handoffs at once"),
    "window": Spec("window", None, doc="{period, open, close}: when exchanges may start",
                   label="handoff window"),
}

INITIATIVE_SPEC: dict[str, Spec] = {
    "name": Spec("name", REQUIRED, label="name"),
    "launch": Spec("float", 0.0, 0.0, doc="day the district office receives the baton",
                   label="launch (day)"),
    "deadline": Spec("float", None, 0.0, lo_open=True, doc="day by which it must be implemented",
                     label="deadline (day)"),
    "clarity": prob(0.5, "how clear the initiative is", label="clarity of the initiative"),
    "priority": Spec("int", 0, doc="smaller runs first in a busy runner's queue",
                     label="priority"),
    "min_fidelity": prob(0.0, "fidelity a classroom needs to count as implementing",
                         label="fidelity needed"),
    "success_threshold": Spec("float", 0.8, 0.0, 1.0, lo_open=True,
                              doc="share of classrooms that must implement",
                              label="share of classrooms needed"),
}

EFFECTS_SPEC: dict[str, Spec] = {
    "trust": Spec("float", 2.0, 0.0, doc="log-odds of a fumble lost per unit of trust",
                  label="fumble log-odds lost per unit of trust"),
    "clarity": Spec("float", 2.0, 0.0, doc="log-odds of a fumble lost per unit of clarity",
                    label="fumble log-odds lost per unit of clarity"),
    "rehearsal": Spec("float", 0.5, 0.0, lo_open=True, doc="odds factor when rehearsed",
                      label="fumble odds when rehearsed"),
    "checkpoint": Spec("float", 0.6, 0.0, lo_open=True, doc="odds factor with a checkpoint",
                       label="fumble odds with a checkpoint"),
    "checkpoint_time": Spec("float", 2.0, 0.0, doc="days a checkpoint costs",
                            label="days a checkpoint costs"),
    "load": Spec("float", 1.25, 0.0, lo_open=True, doc="odds factor per baton already held",
                 label="fumble odds per extra baton"),
    "tank": Spec("float", 1.5, 0.0, doc="log-odds added per unit of tank emptiness",
                 label="fumble log-odds per empty tank"),
}

TEMPLATE_SPEC: dict[str, Spec] = {
    "clarity": prob(0.5, "clarity of each arriving initiative", label="clarity of each arrival"),
    "priority": Spec("int", 0, doc="queue priority (smaller first)", label="priority"),
    "min_fidelity": prob(0.0, label="fidelity needed"),
    "success_threshold": Spec("float", 0.8, 0.0, 1.0, lo_open=True,
                              label="share of classrooms needed"),
    "deadline_after": Spec("float", 180.0, 0.0, lo_open=True, doc="days from arrival to deadline",
                           label="days from arrival to deadline"),
}

STREAM_SPEC: dict[str, Spec] = {
    "rate": Spec("float", 0.0, 0.0, doc="new initiatives per school year (Poisson); 0 = none",
                 label="new initiatives per year"),
    "start": Spec("float", 0.0, 0.0, doc="day arrivals begin", label="first day of arrivals"),
    "stop": Spec("float", None, 0.0, doc="day arrivals end (default: the horizon)",
                 label="last day of arrivals"),
    "template": Spec("table", None, doc="what each arrival is like", sub=TEMPLATE_SPEC,
                     label="each arrival"),
}

FEEDBACK_SPEC: dict[str, Spec] = {
    "interval": Spec("float", 90.0, 0.0, lo_open=True, doc="days between district reviews",
                     label="days between reviews"),
    "detect": prob(0.0, "chance a review finds a dropped baton (0 = no reviews)",
                   label="chance a review finds a drop"),
}

TRUST_DYNAMICS_SPEC: dict[str, Spec] = {
    "gain": prob(0.0, "share of the gap to `high` a receiver's trust in its giver closes with "
                 "each clean handoff (0 with loss 0: trust is fixed)",
                 label="trust gained per clean handoff"),
    "loss": prob(0.0, "share of the gap to `low` a receiver's trust in its giver loses with "
                 "each fumbled attempt (caught or dropped)",
                 label="trust lost per fumble"),
    "low": prob(0.0, "the level repeated fumbles wear trust down to",
                label="lowest trust fumbles lead to"),
    "high": prob(1.0, "the level repeated clean handoffs build trust up to (>= low)",
                 label="highest trust clean handoffs lead to"),
}

WINDOW_SPEC: dict[str, Spec] = {
    "period": Spec("float", REQUIRED, 0.0, lo_open=True, label="window period (days)"),
    "open": Spec("float", REQUIRED, 0.0, label="window opens (day of period)"),
    "close": Spec("float", REQUIRED, 0.0, lo_open=True, label="window closes (day of period)"),
}

SECTIONS = ("scenario", "levels", "zones", "initiatives", "effects", "initiative_stream",
            "feedback", "trust_dynamics")

#: the keys of each section (entity sections: of each of their tables)
SECTION_SPEC: dict[str, dict[str, Spec]] = {
    "scenario": SCENARIO_SPEC,
    "effects": EFFECTS_SPEC,
    "feedback": FEEDBACK_SPEC,
    "initiative_stream": STREAM_SPEC,
    "trust_dynamics": TRUST_DYNAMICS_SPEC,
    "levels": LEVEL_SPEC,
    "zones": ZONE_SPEC,
    "initiatives": INITIATIVE_SPEC,
}

#: sections that are arrays of named tables, and the key that names each table
ENTITY_KEY = {"levels": "name", "zones": "to", "initiatives": "name"}

#: planner's words for the parameters of duration distributions
DIST_WORDS = {"mean": "mean days", "median": "median days", "value": "days",
              "cv": "variability (CV)", "sigma": "variability (sigma)", "low": "min days",
              "high": "max days", "mode": "typical days", "values": "observed days"}

#: planner's words for the keys of a parameter's distribution (draws.py)
DRAW_WORDS = {"mean": "average", "sd": "spread (sd)", "median": "typical value",
              "sigma": "spread (sigma)", "low": "lowest", "high": "highest",
              "mode": "most likely", "values": "possible values", "weights": "weights",
              "dist": "distribution", "per": "drawn per"}

# -- segments ------------------------------------------------------------------------
SEGMENT_FIXED = ("count", "segments", "merged_with_parent", "name", "sharing")
SEGMENT_SCOPE = ("a segment may set level and zone parameters of '{}' and the levels below "
                 "it (not count, names, segments, merging or sharing)")


def segment_may_set(path: str, below: set[str] | list[str]) -> bool:
    """A segment of a level may set `path` when it is a level or zone parameter of that
    level or one below it (`below`), other than the tree's shape."""
    parts = path.split(".")
    return (len(parts) >= 3 and parts[0] in ("levels", "zones") and parts[1] in below
            and not (parts[0] == "levels" and parts[2] in SEGMENT_FIXED))


def label(path: str) -> str:
    """A dotted path in the planner's words (the schema's labels), e.g.
    zones.principal.fumble -> 'Handoff to principal: fumble risk'."""
    parts = path.split(".")
    if parts[0] == "levels" and len(parts) >= 5 and parts[2] == "segments":
        if parts[4:] == ["share"]:
            return f"{parts[3]} segment: share of {parts[1]}s"
        return f"{parts[3]} segment: {label('.'.join(parts[4:]))}"
    section = parts[0]
    if section in ENTITY_KEY and len(parts) >= 3:
        who = {"zones": f"Handoff to {parts[1]}", "levels": parts[1].capitalize(),
               "initiatives": f"Initiative '{parts[1]}'"}[section]
        rest = parts[2:]
    elif section in SECTION_SPEC and len(parts) >= 2:
        who = {"effects": "Effect", "scenario": "Scenario", "feedback": "District review",
               "initiative_stream": "New initiatives",
               "trust_dynamics": "Trust dynamics"}[section]
        rest = parts[1:]
    else:
        return path
    spec = SECTION_SPEC[section].get(rest[0])
    if spec is None:
        return path
    words = spec.label or rest[0].replace("_", " ")
    if len(rest) > 1:
        if spec.kind in ("float", "int"):  # a parameter drawn from a distribution
            words = f"{words} (drawn), {DRAW_WORDS.get(rest[1], rest[1])}"
        elif spec.kind == "dist":
            words = f"{words}, {DIST_WORDS.get(rest[1], rest[1])}"
        elif spec.sub and rest[1] in spec.sub:
            words = spec.sub[rest[1]].label or rest[1].replace("_", " ")
        elif spec.kind == "window" and rest[1] in WINDOW_SPEC:
            words = WINDOW_SPEC[rest[1]].label
        else:
            words = rest[1].replace("_", " ")
    return f"{who}: {words}"
