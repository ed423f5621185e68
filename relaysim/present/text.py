"""Plain-text summaries of a run, in a planner's words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..study.run import RunResult


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _time(x: float | None) -> str:
    if x is None:
        return "not reached"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def run_summary_text(res: RunResult) -> str:
    s = res.summary
    sc = res.scenario
    lines = [
        f"relaysim {s['relaysim_version']} | scenario '{sc.name}' (hash {sc.hash[:12]}) | "
        f"{s['reps']} replications, seed {s['seed']}",
    ]
    if sc.description:
        lines.append(sc.description)
    sizes = sc.level_sizes
    chain = " -> ".join(f"{lv.name} ({n})" for lv, n in zip(sc.levels, sizes, strict=True))
    lines.append(f"The relay: {chain}")
    by_name = {ini.name: ini for ini in sc.initiatives}
    one, unit = sc.time_unit_one, sc.time_unit
    for name, est in s["initiatives"].items():
        ini = by_name.get(name)
        lines.append("")
        if ini is not None:
            lines.append(
                f"Initiative '{name}': launched {one} {ini.launch:g}, "
                f"deadline {one} {ini.deadline:g}, "
                f"needs {100 * ini.success_threshold:.0f}% of {sc.n_classrooms} classrooms"
            )
        else:
            lines.append(f"Initiatives from the stream ({est['runs']} arrivals in all runs)")
        cr = est["completion_rate"]
        lines.append(
            f"  Implemented in {_pct(cr['estimate'])} of runs "
            f"(95% CI {_pct(cr['ci95'][0])} to {_pct(cr['ci95'][1])})"
        )
        cov = est["coverage"]
        lines.append(
            f"  Classrooms implementing at the deadline: {_pct(cov['mean'])} on average "
            f"(95% CI {_pct(cov['ci95'][0])} to {_pct(cov['ci95'][1])}); completion "
            f"counts the runs where this reaches the success threshold, so read the two "
            f"together"
        )
        deff = cov.get("design_effect")
        if ini is None and deff is not None:
            lines.append(
                f"  Intervals are clustered by run: arrivals in one run share queues "
                f"(design effect {deff:.2f} for coverage)")
        ct = est["completion_time"]
        lines.append(
            f"  {unit.capitalize()} from launch to implementation: median {_time(ct['median'])} "
            f"(quartiles {_time(ct['q25'])} to {_time(ct['q75'])}; "
            f"{ct['censored']} runs never reached it)"
        )
        med_ci = ct.get("ci95", {}).get("median")
        if med_ci and ct["median"] is not None:
            lines.append(f"    median 95% CI {_time(med_ci[0])} to {_time(med_ci[1])} "
                         f"(Kaplan-Meier band inverted)")
        if est["fidelity"]["mean"] is not None:
            lines.append(f"  Mean fidelity of classrooms reached: {est['fidelity']['mean']:.2f}")
        lines.extend(_drops_lines(est["zones"]))
    lines.append("")
    lines.append(f"Runners: mean wait for a free runner ({unit}), share of capacity in use")
    for name, lv in s["levels"].items():
        wait = "-" if lv["wait_mean"] is None else f"{lv['wait_mean']:.1f}"
        extra = f", departures per run {lv['departures']:.2f}" if lv["departures"] else ""
        lines.append(f"  {name:<14} wait {wait:>6}   busy {_pct(lv['utilization']):>6}{extra}")
    return "\n".join(lines)


def _drops_lines(zones: dict[str, Any]) -> list[str]:
    total = sum(z["drops"] for z in zones.values())
    if not total:
        return ["  No baton was dropped at any handoff."]
    parts = sorted(zones.items(), key=lambda kv: -kv[1]["drops"])
    desc = ", ".join(
        f"handoff to {name} {_pct(z['drop_share'])}" for name, z in parts if z["drops"]
    )
    return [f"  Where the baton falls (share of drops): {desc}"]
