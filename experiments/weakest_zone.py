"""Where are our baton passes most vulnerable? Which exchange zone's improvement raises
completion most.

Question: the district has a handoff from the district office to principals, from
principals to coaches and from coaches to classrooms. If it can make only one of them
safer, which one raises the chance the initiative is implemented the most?

Hypothesis ("the zones matter most"): the handoff whose fumble cuts off the most
classrooms (the one nearest the district office) is not necessarily the one to fix first;
the handoff into classrooms, where most batons fall because it has the most handoffs,
matters most.

Design: the baseline district. (1) One zone at a time: halve that zone's fumble risk
(paired against the baseline and against each other with the same random numbers); the
zone that raises completion most is named, or a tie when the paired difference between the
two best includes 0. (2) A tornado and first- and total-order Sobol indices
(relaysim.sensitivity: a Saltelli design run as one sweep, then scipy.stats.sobol_indices
with bootstrap 95% intervals) with each zone's fumble risk between half and one and a half
times its baseline value.
"""

from __future__ import annotations

from _common import Contrast, Experiment, ci, cli, effect, paired, pct, rate

import relaysim
from relaysim import plot as P
from relaysim.study.designs import Parameter
from relaysim.study.sensitivity import sensitivity


def halved(base: relaysim.Scenario) -> dict[str, relaysim.Scenario]:
    """One variant per zone (by receiving level) with that zone's fumble risk halved."""
    return {z.to: base.with_values({f"zones.{z.to}.fumble": z.fumble / 2})
            for z in base.zones if z is not None and z.fumble > 0}


def headline(base: relaysim.Scenario) -> tuple[dict[str, relaysim.Scenario], list[Contrast]]:
    """The headline comparison (also rerun by robust_answers), in completion: halving the
    fumble risk of one handoff against halving another's. The answer: the handoffs to
    classrooms and to coaches tie, and both beat the handoff to principals."""
    variants = halved(base)
    top, *_, mid, last = list(variants)  # top down

    def vs(a: str, b: str, claim: int) -> Contrast:
        return Contrast(f"{a}_minus_{b}", f"halve the handoff to {a} minus to {b}, completion",
                        {a: 1, b: -1}, claim)
    return variants, [vs(last, top, +1), vs(mid, top, +1), vs(last, mid, 0)]


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("weakest_zone", __doc__, argv)
    reps = ex.reps(quick=60, full=3000)
    base = ex.scenario("baseline.toml")
    zones = [z for z in base.zones if z is not None and z.fumble > 0]
    r0 = ex.run(base, reps)
    runs, gains = {}, {}
    for name, sc in halved(base).items():
        runs[name] = r = ex.run(sc, reps)
        gains[name] = (paired(r0, r, "coverage"), paired(r0, r), rate(r))
    order = sorted(gains, key=lambda k: -gains[k][1]["difference"])  # by completion gain
    best = order[0]
    # best minus runner-up, replication by replication (same random numbers)
    vs = paired(runs[order[1]], runs[best]) if len(order) > 1 else None
    tie = vs is not None and vs["ci95"][0] <= 0

    params = [Parameter(f"zones.{z.to}.fumble", "float", z.fumble * 0.5,
                        min(z.fumble * 1.5, 0.99), 2) for z in zones]
    sens = sensitivity(base, params, samples=4 if ex.quick else 256,
                       reps=ex.reps(quick=30, full=400), seed=ex.seed,
                       out=ex.out / "sensitivity", workers=ex.workers,
                       resume=(ex.out / "sensitivity" / "sobol" / "store.sqlite").exists(),
                       seeds=2 if ex.quick else 4)
    ex.figure(P.tornado(ex.out / "sensitivity"), "weakest_zone_tornado.png")
    ex.figure(P.sobol(ex.out / "sensitivity"), "weakest_zone_sobol.png")
    ex.figure(P.relay(ex.out / "sensitivity"), "weakest_zone_relay.png")

    drops = r0.initiative()["zones"]
    sizes = dict(zip((lv.name for lv in base.levels), base.level_sizes, strict=True))
    cut = {z.to: base.n_classrooms // sizes[z.to] for z in zones}  # classrooms per drop
    ex.say(f"Baseline: {pct(rate(r0)['value'])} ({ci(rate(r0)['ci95'])}).")
    ex.say("Share of drops by handoff (classrooms cut off by one drop): " + ", ".join(
        f"{k} {pct(v['drop_share'])} ({cut.get(k, '?')})" for k, v in drops.items()
        if v["attempts"]))
    for k, (_gc, gr, r) in gains.items():
        ex.say(f"- halve the fumble risk of the handoff to {k}: {pct(r['value'])} "
               f"({ci(r['ci95'])}); completion {effect(gr)}")
    if vs is not None:
        ex.say(f"Handoff to {best} minus handoff to {order[1]} (completion, paired): "
               f"{effect(vs)}.")
    ex.say("")
    ex.say("Sobol indices (share of the variation in completion explained):")
    for s in sorted(sens["sobol"], key=lambda s: -s["total"]):
        ex.say(f"- {P.label(s['parameter'])}: first order {s['first']:.2f} "
               f"[{s['first_ci95'][0]:.2f}, {s['first_ci95'][1]:.2f}], total {s['total']:.2f} "
               f"[{s['total_ci95'][0]:.2f}, {s['total_ci95'][1]:.2f}]")
    ex.say(f"The intervals {'include' if sens.get('replication_noise_included') else 'leave out'}"
           f" replication noise ({sens.get('seeds', 1)} seed(s) of the Saltelli design).")

    g = gains[best][1]
    ex.headline("best_zone_gain_completion", g["difference"], (0.08, 0.35),
                f"completion gain from halving the fumble risk into {best}", g["ci95"], g)
    last = base.levels[-1].name
    ex.headline("classroom_drop_share", drops[last]["drop_share"], (0.75, 0.93),
                f"share of all drops that happen in the handoff to {last}")
    top = sens["ranking"][0] if sens.get("ranking") else None
    top_zone = top.split(".")[1] if top else "n/a"
    least = min(gains, key=lambda k: gains[k][1]["difference"])
    verdict = ("supported" if best == last and not tie else
               "only half supported: it ties with another" if tie and last in order[:2] else
               "not supported")
    if tie:
        lead = (f"Halving the fumble risk of the handoff to {best} or to {order[1]} raises "
                f"completion about equally, from {pct(rate(r0)['value'])} to "
                f"{pct(gains[best][2]['value'])} and {pct(gains[order[1]][2]['value'])} "
                f"(difference {effect(vs)})")
    else:
        lead = (f"The handoff to {best} is the one to fix first: halving its fumble risk "
                f"raises completion from {pct(rate(r0)['value'])} to "
                f"{pct(gains[best][2]['value'])}, {effect(vs)} against the next best, the "
                f"handoff to {order[1]}"
                if vs is not None else f"The handoff to {best} is the one to fix first")
    widest = max(cut, key=lambda k: cut[k])  # one drop there cuts off the most classrooms
    most_drops = max((k for k in drops if k in gains), key=lambda k: drops[k]["drop_share"])
    least_text = (f"the handoff to {least}, whose drop cuts off the most classrooms "
                  f"({cut[least]}), matters least" if least == widest else
                  f"the handoff to {least} matters least")
    # where batons fall is a good guide only if the zone with most drops is (one of) the best
    if most_drops == best or (tie and most_drops == order[1]):
        other = order[1] if most_drops == best else best
        guide = (f"Where batons fall points the right way here: the handoff to {most_drops} "
                 f"has {pct(drops[most_drops]['drop_share'])} of the drops"
                 + (f", but the handoff to {other}, with only "
                    f"{pct(drops[other]['drop_share'])}, does as well because each of its "
                    f"drops cuts off {cut[other]} classrooms" if tie else ""))
    else:
        guide = (f"Where batons fall is a poor guide: the handoff to {most_drops} has "
                 f"{pct(drops[most_drops]['drop_share'])} of the drops, the handoff to {best} "
                 f"{pct(drops[best]['drop_share'])}, but each drop there cuts off "
                 f"{cut[best]} classrooms")
    ex.finish(
        f"{lead}; {least_text} (+{100 * gains[least][1]['difference']:.1f} points). "
        f"{guide}; the Sobol indices over a range of half to one and a half times each risk "
        f"rank the handoff to {top_zone} first. The hypothesis (the handoff to {last} matters "
        f"most) is {verdict}.")


if __name__ == "__main__":
    cli(main)
