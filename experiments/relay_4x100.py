"""The literal relay: does the 4x100 m scenario reproduce championship failure rates, and
does a slower team with clean exchanges beat a faster team with sloppy ones?

Question: (1) with the per-exchange failure rate derived from championship records, does
the simulated race finish as often as real teams do? (2) A fast team that drops the baton
more often meets a slower team that rarely does: who wins more often, and how large may
the speed gap be before the fast team wins anyway?

Hypothesis: (1) the race is clean in about 0.96^3 = 0.885 of runs (FIGURES.md "Closed
forms"), within simulation error. (2) "Baton pass beats raw speed": the slower, clean team
wins more often than the faster, sloppy one.

Design: scenarios/relay_4x100.toml (time in seconds; legs of 10.2, 9.0, 9.0, 9.1 s that
vary by 1%; three exchanges failing with probability 0.04 each, no recovery). Part 1: the
file as written against the closed form 0.96^3, and against the range implied by the
championship data itself: 22% of 214 men's teams failed at some point of a meet of about 2
rounds x 3 exchanges [W-M], so one race is clean with probability sqrt(1 - 0.22); the
Wilson 95% interval of 47/214 gives 0.848 to 0.912. Part 2: a clean team (the file's legs,
failure 0.02 per exchange, ASSUMPTION: half the championship average) against a fast,
sloppy team (every leg faster so that the race is G seconds shorter, G = 0 to 0.8 s;
failure 0.069 per exchange, the US men's rate: they failed 7 of 20 meets [W-M], so
1 - (13/20)^(1/6)). A team wins if it finishes and the other does not, or both finish and
it is faster. ASSUMPTION: the two teams' athletes are independent, so team B runs with
another seed than team A (with common random numbers both would get the same luck, and the
faster team could only lose by dropping the baton; that variant is reported too). Every
variant of one team runs with that team's seed (common random numbers across speed gaps
and failure rates, so the curves are paired and smooth). Sensitivity: the sloppy team's
failure rate (4% to 15%), and sloppy passes that also cost time when they succeed
(ASSUMPTION: exponential, mean 0.05 to 0.2 s per pass). The break-even gap is where the
clean team's chance of winning crosses 50% (interpolated; bootstrap 95% interval).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from _common import Experiment, cli, pct
from matplotlib.figure import Figure

import relaysim
from relaysim.model.distributions import scaled
from relaysim.study.stats import wilson

TARGET = 0.96**3  # FIGURES.md closed form: no-retry chain with 4% per exchange
CHAMPS = (0.848, 0.912)  # sqrt(1 - Wilson 95% interval of 47/214 failing a meet)
CLEAN, US_MEN = 0.02, 1 - (13 / 20) ** (1 / 6)  # failure per exchange
GAPS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8]  # seconds the fast team is quicker
REF_GAP = 0.3  # s: ASSUMPTION, about the gap between medallists in a global final
SLOPPY = [0.04, US_MEN, 0.10, 0.15]
PASS_COST = [0.05, 0.1, 0.2]  # s, mean time a sloppy pass costs (ASSUMPTION)
OTHER_TEAM = 1_000_003  # seed offset of the second team (independent athletes)
BOOT = 2000


def team(sc: relaysim.Scenario, gap: float = 0.0, fumble: float | None = None,
         pass_cost: float = 0.0) -> relaysim.Scenario:
    """The relay with every leg scaled so the race is `gap` seconds shorter, every
    exchange failing with probability `fumble`, and each pass taking `pass_cost` s."""
    legs = [lv.name for lv in sc.levels]
    total = sum(lv.work.mean for lv in sc.levels)
    values: dict[str, Any] = {}
    if gap:
        for name in legs:
            values[f"levels.{name}.work"] = scaled(sc.get(f"levels.{name}.work"),
                                                   1 - gap / total)
    for z in sc.zones:
        if z is None:
            continue
        if fumble is not None:
            values[f"zones.{z.to}.fumble"] = fumble
        if pass_cost:
            values[f"zones.{z.to}.duration"] = {"dist": "exponential", "mean": pass_cost}
    return sc.with_values(values) if values else sc


def finish_times(res: relaysim.RunResult) -> np.ndarray:
    """Per race: the anchor's finishing time, inf when the baton never got there."""
    return np.array([math.inf if o.completion_time is None else o.completion_time
                     for r in res.replications for o in r.initiatives])


def win_curve(clean: np.ndarray, fast: list[np.ndarray]) -> np.ndarray:
    """(len(fast), reps) indicators: the clean team beat the fast team in race i."""
    return np.vstack([(clean < f).astype(float) for f in fast])


def crossing(gaps: list[float], y: np.ndarray) -> float:
    """First gap at which y falls below 0.5 (interpolated); 0 if it starts below (the
    sloppy team wins more often at any gap), inf if it never does within the gaps tried."""
    if y[0] < 0.5:
        return 0.0
    for k in range(1, len(gaps)):
        if y[k] < 0.5:
            return gaps[k - 1] + (gaps[k] - gaps[k - 1]) * (y[k - 1] - 0.5) / (y[k - 1] - y[k])
    return math.inf


def break_even(gaps: list[float], wins: np.ndarray, seed: int) -> dict[str, Any]:
    est = crossing(gaps, wins.mean(axis=1))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xBA70,)))
    n = wins.shape[1]
    boots = np.array([crossing(gaps, wins[:, rng.integers(0, n, n)].mean(axis=1))
                      for _ in range(BOOT)])
    lo, hi = np.quantile(boots, [0.025, 0.975], method="inverted_cdf")
    return {"value": est, "ci95": [float(lo), float(hi)]}


def share(x: np.ndarray) -> dict[str, Any]:
    k = int(x.sum())
    return {"value": k / len(x), "ci95": list(wilson(k, len(x)))}


def main(argv: list[str] | None = None) -> None:
    ex = Experiment.from_args("relay_4x100", __doc__, argv)
    check_reps = ex.reps(quick=4000, full=40000)
    reps = ex.reps(quick=600, full=10000)
    sc = ex.scenario("relay_4x100.toml")

    # ---------------------------------------------------------------- part 1: the file
    r = ex.run(sc, check_reps)
    est = r.initiative()["completion_rate"]
    p_hat = est["estimate"]
    se = math.sqrt(TARGET * (1 - TARGET) / check_reps)
    z = (p_hat - TARGET) / se
    t_med = r.initiative()["completion_time"]["median"]

    # ---------------------------------------------------------------- part 2: two teams
    seed_b = ex.seed + OTHER_TEAM
    clean = finish_times(ex.run(team(sc, fumble=CLEAN), reps))
    drops = {p: [finish_times(relaysim.run(team(sc, g, p), reps=reps, seed=seed_b,
                                           workers=ex.workers)) for g in GAPS]
             for p in SLOPPY}
    costs = {c: [finish_times(relaysim.run(team(sc, g, US_MEN, c), reps=reps, seed=seed_b,
                                           workers=ex.workers)) for g in GAPS]
             for c in PASS_COST}
    wins_drop = {p: win_curve(clean, f) for p, f in drops.items()}
    wins_cost = {c: win_curve(clean, f) for c, f in costs.items()}
    ref = GAPS.index(REF_GAP)
    main_w = wins_drop[US_MEN]
    w0, w_ref = share(main_w[0]), share(main_w[ref])
    fast_wins = share((drops[US_MEN][ref] < clean).astype(float))
    be = break_even(GAPS, main_w, ex.seed)
    be_cost = {c: break_even(GAPS, w, ex.seed) for c, w in wins_cost.items()}
    # the same contest with the same luck for both teams (common random numbers)
    fast_same = finish_times(ex.run(team(sc, REF_GAP, US_MEN), reps))
    same_luck = share((clean < fast_same).astype(float))
    fast_fin = share(np.isfinite(drops[US_MEN][ref]).astype(float))
    clean_fin = share(np.isfinite(clean).astype(float))

    # ---------------------------------------------------------------- figure
    fig = Figure(figsize=(17, 6), layout="constrained")
    ax0, ax1, ax2 = fig.subplots(1, 3, width_ratios=[0.7, 1, 1])
    ax0.axhspan(100 * CHAMPS[0], 100 * CHAMPS[1], color="#999999", alpha=0.25,
                label="championship data (derived range)")
    ax0.axhline(100 * TARGET, color="#555555", ls="--", label="0.96 cubed (4% per exchange)")
    lo, hi = est["ci95"]
    ax0.errorbar([0], [100 * p_hat], yerr=[[100 * (p_hat - lo)], [100 * (hi - p_hat)]],
                 fmt="o", color="#0072B2", ms=10, capsize=8, lw=2.5, label="simulated")
    ax0.set_xlim(-1, 1)
    ax0.set_xticks([])
    ax0.set_ylim(80, 95)
    ax0.set_ylabel("Races finished with the baton (%)")
    ax0.set_title("One race, as written")
    ax0.legend(frameon=False, fontsize=10, loc="lower center")
    palette = ["#56B4E9", "#0072B2", "#E69F00", "#D55E00"]
    for (p, w), color in zip(wins_drop.items(), palette, strict=True):
        ax1.plot(GAPS, 100 * w.mean(axis=1), "o-", color=color, lw=2.5,
                 label=f"fast team fails {100 * p:.1f}% of passes"
                       + (" (US men)" if p == US_MEN else ""))
    ax1.set_title(f"Clean team ({100 * CLEAN:.0f}% of passes fail) vs a faster, sloppy team")
    for (c, w), color in zip(wins_cost.items(), ["#009E73", "#CC79A7", "#000000"],
                             strict=True):
        ax2.plot(GAPS, 100 * w.mean(axis=1), "o-", color=color, lw=2.5,
                 label=f"each sloppy pass also costs {c:g} s on average")
    ax2.plot(GAPS, 100 * main_w.mean(axis=1), "o--", color="#0072B2", lw=2,
             label="passes cost no time")
    ax2.set_title(f"Sloppy passes that also lose time ({100 * US_MEN:.1f}% fail)")
    for ax in (ax1, ax2):
        ax.axhline(50, color="#555555", lw=1, ls=":")
        ax.set_xlabel("How much faster the sloppy team runs (seconds over the race)")
        ax.set_ylabel("Chance the clean team wins (%)")
        ax.set_ylim(0, 100)
        ax.legend(frameon=False, fontsize=10, loc="upper right")
    ex.note(fig, f"scenarios/relay_4x100.toml; {check_reps} races (left), {reps} races per "
                 f"point (middle, right); seeds {ex.seed} and {seed_b} (independent teams)")
    ex.figure(fig, "relay_4x100.png")

    # ---------------------------------------------------------------- words
    ex.say(f"Part 1: {check_reps} races of the file as written: finished with the baton in "
           f"{pct(p_hat)} (95% CI {pct(lo)} to {pct(hi)}); 0.96^3 = {pct(TARGET)}, z = {z:+.2f} "
           f"(simulation SE {100 * se:.2f} points); championship-derived range "
           f"{pct(CHAMPS[0])} to {pct(CHAMPS[1])}. Median race time {t_med:.2f} s.")
    ex.say("")
    ex.say(f"Part 2: clean team fails {100 * CLEAN:.0f}% of passes and finishes "
           f"{pct(clean_fin['value'])} of races; the sloppy team fails {100 * US_MEN:.1f}% "
           f"(US men) and finishes {pct(fast_fin['value'])}.")
    for k, g in enumerate(GAPS):
        s = share(main_w[k])
        ex.say(f"- sloppy team {g:g} s faster: clean team wins {pct(s['value'])} "
               f"(95% CI {pct(s['ci95'][0])} to {pct(s['ci95'][1])})")
    ex.say(f"Break-even gap (clean team wins half the races): {be['value']:.3f} s (95% CI "
           f"{be['ci95'][0]:.3f} to {be['ci95'][1]:.3f}).")
    for p, w in wins_drop.items():
        b = break_even(GAPS, w, ex.seed)
        ex.say(f"- sloppy team failing {100 * p:.1f}% of passes: break-even gap "
               f"{b['value']:.3f} s; clean team wins {pct(w[ref].mean())} at {REF_GAP:g} s")
    for c, b in be_cost.items():
        ex.say(f"- sloppy passes costing {c:g} s on average: break-even gap {b['value']:.3f} s "
               f"(95% CI {b['ci95'][0]:.3f} to {b['ci95'][1]:.3f}); clean team wins "
               f"{pct(wins_cost[c][ref].mean())} at {REF_GAP:g} s")
    ex.say(f"Same luck for both teams (common random numbers) at {REF_GAP:g} s: the clean team "
           f"wins {pct(same_luck['value'])}, only when the fast team drops the baton.")

    ex.headline("race_completion", p_hat, CHAMPS,
                "share of races finished with the baton (championship-derived range)",
                est["ci95"])
    ex.headline("engine_z", z, (-1.96, 1.96),
                "(simulated - 0.96^3) / simulation SE: agreement with the closed form")
    # exact: both teams' times have the same law, so when both finish each wins half
    pc, ps = (1 - CLEAN) ** 3, (1 - US_MEN) ** 3
    exact = pc * (1 - ps) + pc * ps / 2
    se0 = math.sqrt(exact * (1 - exact) / len(main_w[0]))
    ex.headline("clean_wins_equal_speed", w0["value"], (exact - 3 * se0, exact + 3 * se0),
                f"chance the clean team beats an equally fast sloppy (US men) team (exact "
                f"{exact:.4f} +- 3 SE)", w0["ci95"])
    ex.headline("clean_wins_at_ref_gap", w_ref["value"], (0.18, 0.36),
                f"chance the clean team beats a sloppy team {REF_GAP:g} s faster", w_ref["ci95"])
    ex.headline("break_even_gap", be["value"], (0.0, 0.15),
                "speed gap (s) at which the sloppy (US men) team starts winning more often",
                be["ci95"])
    c_mid = PASS_COST[1]
    agrees = abs(z) <= 1.96 and CHAMPS[0] <= p_hat <= CHAMPS[1]

    def gap(b: dict[str, Any]) -> str:
        v = b["value"]
        return (f"more than {GAPS[-1]:g} s" if math.isinf(v) else f"{v:.2f} s")

    if w0["value"] < 0.5:
        duel = (f"A clean team does not beat even an equally fast team with the US men's "
                f"failure rate: it wins only {pct(w0['value'])} of races")
        verdict = "baton pass does not beat raw speed with these failure rates"
    else:
        lo_be, hi_be = be["ci95"]
        duel = (f"A clean team beats an equally fast team with the US men's failure rate in "
                f"{pct(w0['value'])} of races, but only while the sloppy team is less than "
                f"about {gap(be)} faster (95% CI {lo_be:.2f} to {hi_be:.2f})")
        verdict = (f"baton pass beats raw speed only when sloppy passes also cost time "
                   f"(break-even {gap(be_cost[c_mid])} if each costs {c_mid:g} s) or the "
                   f"speed gap is tiny" if be["value"] < REF_GAP else
                   "baton pass beats raw speed at the gaps that separate medallists")
    ex.finish(
        f"The relay as written finishes {pct(p_hat)} of races (95% CI {pct(lo)} to {pct(hi)}), "
        f"{'matching' if agrees else 'NOT matching'} 0.96^3 = {pct(TARGET)} (z = {z:+.2f}) and "
        f"the championship range {pct(CHAMPS[0])} to {pct(CHAMPS[1])}. {duel}; at "
        f"{REF_GAP:g} s the fast team wins {pct(fast_wins['value'])} and the clean team "
        f"{pct(w_ref['value'])}, so {verdict}.")


if __name__ == "__main__":
    cli(main)
