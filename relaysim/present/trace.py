"""One replication told event by event, in words a planner understands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .._version import __version__
from ..engines.keyed import STREAM_VERSION
from ..engines.records import Replication
from ..engines.simpy_engine import simulate
from ..model.scenario import Scenario

__all__ = ["trace", "Trace", "runner_label"]


def runner_label(scenario: Scenario, level: int, i: int) -> str:
    """'district', 'principal 4', 'coach 4.2', 'classroom 4.2.7' (1-based positions)."""
    name = scenario.levels[level].name
    if level == 0:
        return f"the {name}"
    pos = []
    for k in range(level, 0, -1):
        if scenario.levels[k].merged_with_parent:
            continue  # one per parent: the same person, no position of its own
        c = scenario.levels[k].count
        pos.append(i % c + 1)
        i //= c
    return f"{name} {'.'.join(str(p) for p in reversed(pos))}"


@dataclass
class Trace:
    """The events of one replication and its outcome record."""

    scenario: Scenario
    seed: int
    rep: int
    events: list[dict[str, Any]] = field(default_factory=list)
    record: Replication | None = None

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(
            {"scenario": self.scenario.name, "scenario_hash": self.scenario.hash,
             "relaysim_version": __version__, "stream_version": STREAM_VERSION,
             "seed": self.seed, "rep": self.rep, "events": self.events,
             "outcome": _outcome(self)},
            indent=indent,
        )

    def text(self) -> str:
        sc = self.scenario
        lines = [f"One run of '{sc.name}' (seed {self.seed}, replication {self.rep}), "
                 f"told event by event. "
                 + ("Days are school days." if sc.time_unit == "days"
                    else f"Times are in {sc.time_unit}.")]
        one = sc.time_unit_one.capitalize()
        for ev in self.events:
            lines.append(f"{one} {ev['t']:7.1f}  {_words(sc, ev)}")
        lines.append("")
        for o in _outcome(self):
            verdict = "IMPLEMENTED" if o["completed"] else "NOT implemented"
            lines.append(
                f"'{o['initiative']}': {verdict} by the deadline; {o['implemented']} of "
                f"{o['classrooms']} classrooms implementing at the deadline, "
                f"{o['dropped']} cut off by dropped handoffs, {o['in_flight']} still on the way."
                + (f" Peers recovered {o['recovered_by_peers']} baton(s)."
                   if "recovered_by_peers" in o else "")
            )
        return "\n".join(lines)


def _outcome(tr: Trace) -> list[dict[str, Any]]:
    if tr.record is None:
        return []
    return [
        {"initiative": o.name, "completed": o.completed, "completion_time": o.completion_time,
         "implemented": o.implemented, "classrooms": o.n_classrooms, "dropped": o.dropped,
         "lost": o.lost, "in_flight": o.in_flight,
         **({"recovered_by_peers": sum(x.recovered for x in o.peers)} if o.peers else {})}
        for o in tr.record.initiatives
    ]


def trace(scenario: Scenario, seed: int = 0, rep: int = 0) -> Trace:
    """Run replication `rep` with seed `seed` (the same one `run` would) and keep its events."""
    tr = Trace(scenario=scenario, seed=seed, rep=rep)

    def hear(t: float, event: str, **data: Any) -> None:
        tr.events.append({"t": round(t, 6), "event": event, **data})

    tr.record = simulate(scenario, seed, rep, tracer=hear)
    return tr


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


class _Who(NamedTuple):
    """Who an event is about, in words: the initiative, the runner and its giver."""

    ini: str
    who: str
    giver: str
    lvl: int | None


def _who(sc: Scenario, ev: dict[str, Any]) -> _Who:
    lvl, i = ev.get("level"), ev.get("runner")
    who = runner_label(sc, lvl, i) if lvl is not None else ""
    giver = ""
    if lvl:  # the giver is the person one physical level up (merged levels share a person)
        g = lvl - 1
        j = i // sc.levels[lvl].count
        while g > 0 and sc.levels[g].merged_with_parent:
            g -= 1
        giver = runner_label(sc, g, j)
    return _Who(f"'{ev.get('initiative')}'", who, giver, lvl)


def _w_launch(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return f"The {sc.levels[0].name} receives the {w.ini} baton and starts its leg."


def _w_exchange(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    again = "" if ev["attempt"] == 1 else f" again (attempt {ev['attempt']})"
    return (f"{_cap(w.giver)} hands {w.ini} to {w.who}{again}; "
            f"fumble risk {100 * ev['p_fumble']:.0f}%.")


def _w_handoff(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return f"{_cap(w.who)} has the {w.ini} baton (fidelity {ev['fidelity']:.2f})."


def _w_fumble(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"Fumble in the handoff from {w.giver} to {w.who}; it is caught and reworked "
            f"for {ev['rework']:.1f} {sc.time_unit} before the next try.")


def _w_drop(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    why = "too many attempts" if ev["caught"] else "nobody caught the fumble"
    n = ev["classrooms"]
    return (f"The baton FALLS in the handoff from {w.giver} to {w.who} ({why}): "
            f"{n} classroom{'s' if n != 1 else ''} below will not get {w.ini}.")


def _w_queued(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return f"{_cap(w.who)} is busy: {w.ini} waits behind {ev['ahead']} other baton(s)."


def _w_start(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    waited = f" after waiting {ev['waited']:.1f} {sc.time_unit}" if ev["waited"] > 0 else ""
    return (f"{_cap(w.who)} starts work on {w.ini}{waited} "
            f"({ev['work']:.1f} {sc.time_unit} of work).")


def _w_finish(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    below = sc.levels[w.lvl + 1]
    return (f"{_cap(w.who)} finishes its leg of {w.ini} and passes it to "
            f"{below.count} {below.name}(s).")


def _w_window_wait(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"The exchange window is closed: the handoff to {w.who} waits until "
            f"{sc.time_unit_one} {ev['until']:.1f}.")


def _w_reached(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    if ev["implements"]:
        return f"{_cap(w.who)} implements {w.ini} (fidelity {ev['fidelity']:.2f})."
    return (f"{_cap(w.who)} gets {w.ini} but too blurred to implement "
            f"(fidelity {ev['fidelity']:.2f}).")


def _w_departure(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    held = ev["lost"] + ev["kept"]
    what = (f"{ev['lost']} of the {held} baton(s) they held are lost"
            if held else "they held no baton")
    return (f"{_cap(w.who)} LEAVES the post; {what}. The post stays empty for "
            f"{ev['vacancy']:.1f} {sc.time_unit}.")


def _w_filled(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return f"A new {sc.levels[w.lvl].name} takes over as {w.who} (trust {ev['trust']:.2f})."


def _w_trust(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    why = "after a clean handoff" if ev["clean"] else "after the fumble"
    way = "rises" if ev["trust"] > ev["before"] else "falls"
    return (f"{_cap(w.who)}'s trust in {w.giver} {way} from {ev['before']:.2f} to "
            f"{ev['trust']:.2f} {why}.")


def _w_lost(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    n = ev["classrooms"]
    return (f"{w.ini} is LOST with the departure of {w.who}: {n} classroom"
            f"{'s' if n != 1 else ''} below will not get it.")


def _w_review(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"District review: {ev['rescued']} dropped baton(s) found and passed again, "
            f"{ev['missed']} still missed.")


def _w_rescue(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return f"The review finds {w.ini} dropped before {w.who}; {w.giver} passes it again."


def _w_tank_wait(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"{_cap(w.who)} is running on empty (tank {100 * ev['tank']:.0f}%): {w.giver} "
            f"waits until it is back to {100 * ev['need']:.0f}% before handing over {w.ini}.")


def _w_complete(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"{w.ini} reaches its target: {100 * ev['share']:.0f}% of classrooms "
            f"implementing.")

def _peer(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return runner_label(sc, w.lvl, ev["peer"]) if w.lvl is not None else ""


def _w_showcase(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"{_cap(w.who)} becomes a SHOWCASE of {w.ini}: enough of its classrooms "
            f"implement it for peers to learn from.")


def _w_share(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    who = (f"New {_peer(sc, ev, w)} visits showcase {w.who} to learn {w.ini}"
           if ev["newcomer"] else
           f"Showcase {w.who} shares {w.ini} sideways with {_peer(sc, ev, w)}")
    return f"{who}; fumble risk {100 * ev['p_fumble']:.0f}%."


def _w_share_wasted(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    if ev["peer"] < 0:
        return f"Showcase {w.who} hosts a visit about {w.ini}, but no peer lacks it."
    return (f"Showcase {w.who} hosts {_peer(sc, ev, w)} about {w.ini}, which it has "
            f"already: a visit wasted.")


def _w_peer_fumble(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"The peer handoff of {w.ini} from {w.who} to {_peer(sc, ev, w)} is FUMBLED: "
            f"nothing carries over.")


def _w_peer_moot(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"{_cap(_peer(sc, ev, w))} got {w.ini} another way while learning it from "
            f"{w.who}.")


def _w_peer_handoff(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    was = {"dropped": "its own baton had been dropped",
           "lost": "its own baton had been lost to turnover",
           "ahead": "before the baton from above reached it"}[ev["was"]]
    n = ev["classrooms"]
    return (f"{_cap(_peer(sc, ev, w))} picks up {w.ini} from peer {w.who} ({was}; fidelity "
            f"{ev['fidelity']:.2f}): {n} classroom{'s' if n != 1 else ''} can get it again.")


def _w_peer_skip(sc: Scenario, ev: dict[str, Any], w: _Who) -> str:
    return (f"{_cap(w.who)} already has {w.ini} from a peer: the copy from {w.giver} is not "
            f"needed.")


#: words for each event the engine reports, by event name
WORDS = {
    "launch": _w_launch,
    "exchange": _w_exchange,
    "handoff": _w_handoff,
    "fumble": _w_fumble,
    "drop": _w_drop,
    "queued": _w_queued,
    "start": _w_start,
    "finish": _w_finish,
    "window_wait": _w_window_wait,
    "reached": _w_reached,
    "departure": _w_departure,
    "filled": _w_filled,
    "trust": _w_trust,
    "lost": _w_lost,
    "review": _w_review,
    "rescue": _w_rescue,
    "tank_wait": _w_tank_wait,
    "complete": _w_complete,
    "showcase": _w_showcase,
    "share": _w_share,
    "share_wasted": _w_share_wasted,
    "peer_fumble": _w_peer_fumble,
    "peer_moot": _w_peer_moot,
    "peer_handoff": _w_peer_handoff,
    "peer_skip": _w_peer_skip,
}


def _words(sc: Scenario, ev: dict[str, Any]) -> str:
    kind = ev["event"]
    f = WORDS.get(kind)
    if f is not None:
        return f(sc, ev, _who(sc, ev))
    return f"{kind}: " + ", ".join(f"{k}={v}" for k, v in ev.items() if k not in ("t", "event"))
