"""Shared plumbing for the experiment scripts: arguments, output folder, figures, summary.

Every experiment states its question and hypothesis in its module docstring, runs through
relaysim's public API with common random numbers for every comparison, and writes into
--out: its figures (PNG), summary.md (question, hypothesis, numbers with intervals, answer)
and results.json (the headline numbers, each with the range the summary claims for it,
so a test can check the claim holds).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

import relaysim
from relaysim.engines.keyed import STREAM_VERSION
from relaysim.engines.realize import replication_values
from relaysim.errors import RelaysimError
from relaysim.files import atomic_write, json_safe
from relaysim.model.distributions import scaled
from relaysim.present.plot import note, save
from relaysim.study.intervals import paired_means, paired_proportions
from relaysim.study.stats import wilson

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def per_rep(res: relaysim.RunResult, attr: str = "completed",
            initiative: str | None = None) -> np.ndarray:
    """One outcome of a named initiative, replication by replication."""
    name = initiative or res.scenario.initiatives[0].name
    return np.array([float(getattr(o, attr)) for r in res.replications
                     for o in r.initiatives if o.name == name])


def mean_ci(d: np.ndarray) -> dict[str, float]:
    """Mean of per-replication values (e.g. paired differences) with a 95% t interval."""
    m = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    return {"difference": m, "ci95": [m - 1.96 * se, m + 1.96 * se], "se": se, "n": len(d)}


def paired(a: relaysim.RunResult, b: relaysim.RunResult, attr: str = "completed",
           initiative: str | None = None) -> dict[str, Any]:
    """B - A per replication (same seed, so paired): mean and 95% interval.

    Completion ("completed", 0/1) uses Tango's score interval for paired proportions, which
    stays honest when few pairs disagree, and reports the discordant counts (`a_not_b`,
    `b_not_a`) and, next to it, the coverage effect (`coverage`: points as a fraction,
    with its interval): completion is a threshold on coverage, and a reader must see both
    (issue 12). Other outcomes use the paired t interval of intervals.paired_means."""
    x, y = per_rep(a, attr, initiative), per_rep(b, attr, initiative)
    if attr == "completed":
        r = paired_proportions(x, y)
        se = float((y - x).std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
        return {"difference": r.difference, "ci95": list(r.ci), "se": se, "n": r.n,
                "method": "tango-score", "discordant": {"a_not_b": r.b, "b_not_a": r.c},
                "coverage": paired(a, b, "coverage", initiative)}
    m = paired_means(x, y, max_abs_difference=(1.0 if attr == "coverage" else math.inf))
    if attr != "coverage" and m.method == "zero-pairs":
        return mean_ci(y - x)
    return {"difference": m.difference, "ci95": list(m.ci), "se": m.se, "n": m.n,
            "method": m.method, "nonzero_pairs": m.nonzero}


def stream_minus_flagship(res: relaysim.RunResult) -> dict[str, Any]:
    """The stream's initiatives (pooled over the observed arrivals, named "stream") minus the
    flagship (the first initiative): completion and, next to it, coverage, each a
    difference of two ratio estimates over the same replications. The interval is
    clustered by replication (a replication's arrivals and its flagship share queues,
    tanks and departures): the linearised residual per replication is
    (y_r - p_s m_r) / mean(m) - (f_r - p_f), and its standard error gives a t interval on
    R - 1 degrees of freedom."""
    flag = res.scenario.initiatives[0].name
    out: dict[str, Any] = {}
    for attr in ("completed", "coverage"):
        y, m, f = [], [], []
        for r in res.replications:
            obs = [o for o in r.initiatives if o.name == "stream" and o.observed]
            y.append(sum(float(getattr(o, attr)) for o in obs))
            m.append(len(obs))
            f.append(next(float(getattr(o, attr)) for o in r.initiatives if o.name == flag))
        yy, mm, ff = np.array(y), np.array(m, float), np.array(f)
        p_s, p_f, n = yy.sum() / mm.sum(), ff.mean(), len(ff)
        z = (yy - p_s * mm) / mm.mean() - (ff - p_f)
        se = float(math.sqrt((z**2).sum() / (n * (n - 1))))
        half = float(stats.t.ppf(0.975, n - 1)) * se
        d = float(p_s - p_f)
        out[attr] = {"difference": d, "ci95": [d - half, d + half], "se": se, "n": n,
                     "method": "t-cluster (linearised ratio difference)"}
    return {**out["completed"], "coverage": out["coverage"]}


def effect(d: dict[str, Any]) -> str:
    """Words for a paired completion effect with the coverage effect next to it."""
    out = f"{100 * d['difference']:+.1f} points ({dci(d['ci95'])})"
    if "discordant" in d:
        dd = d["discordant"]
        out += f"; {dd['b_not_a']} replications better, {dd['a_not_b']} worse"
    if "coverage" in d:
        c = d["coverage"]
        out += (f"; coverage {100 * c['difference']:+.1f} points "
                f"({dci(c['ci95'])})")
    return out


def coverage_effect(d: dict[str, Any]) -> str:
    """Words for the coverage effect that paired() puts next to a completion effect."""
    c = d.get("coverage")
    if c is None:
        return "n/a"
    return f"{100 * c['difference']:+.1f} points ({dci(c['ci95'])})"


def rate(res: relaysim.RunResult, initiative: str | None = None) -> dict[str, Any]:
    """Completion rate of an initiative with its Wilson interval."""
    est = res.initiative(initiative)["completion_rate"]
    return {"value": est["estimate"], "ci95": est["ci95"]}


def pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def ci(c: list[float]) -> str:
    """A 95% interval of a rate, in percent."""
    return f"95% CI {pct(c[0])} to {pct(c[1])}"


def dci(c: list[float]) -> str:
    """A 95% interval of a difference of rates, in percentage points."""
    return f"95% CI {100 * c[0]:+.1f} to {100 * c[1]:+.1f} points"


@dataclass
class Experiment:
    """One experiment's run: its options, output folder and what it reports."""

    name: str
    doc: str
    quick: bool
    out: Path
    seed: int
    workers: int | None
    started: float = field(default_factory=time.perf_counter)
    headlines: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    scenarios: dict[str, str] = field(default_factory=dict)  # file -> scenario hash
    rep_counts: set[int] = field(default_factory=set)
    executor: Any = None  # a process pool shared by many short runs (robust_answers)

    @classmethod
    def from_args(cls, name: str, doc: str, argv: list[str] | None = None) -> Experiment:
        p = argparse.ArgumentParser(prog=f"experiments/{name}.py",
                                    description=doc.strip().splitlines()[0])
        p.add_argument("--quick", action="store_true",
                       help="small run for tests (under a minute)")
        p.add_argument("--out", help=f"output folder (default runs/experiments/{name}, "
                       f"or runs/experiments/{name}-quick with --quick)")
        p.add_argument("--seed", type=_whole(0), default=0)
        p.add_argument("--workers", type=_whole(1), default=None,
                       help="processes (default all cores)")
        a = p.parse_args(argv)
        out = Path(a.out or f"runs/experiments/{name}{'-quick' if a.quick else ''}")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            p.error(f"--out {out}: cannot create the folder ({e.strerror or e})")
        return cls(name, doc, a.quick, out, a.seed, a.workers)

    def reps(self, quick: int, full: int) -> int:
        n = quick if self.quick else full
        self.rep_counts.add(n)
        return n

    def scenario(self, file: str, **values: Any) -> relaysim.Scenario:
        sc = relaysim.load_scenario(SCENARIOS / file)
        self.scenarios[file] = sc.hash
        return sc.with_values(values) if values else sc

    def run(self, sc: relaysim.Scenario, reps: int, seed: int | None = None
            ) -> relaysim.RunResult:
        return relaysim.run(sc, reps=reps, seed=self.seed if seed is None else seed,
                            workers=self.workers, executor=self.executor)

    def note(self, fig: Any, text: str, fontsize: float = 10) -> None:
        """The figure's provenance under it: `text`, then the scenario's hash (when the
        experiment runs one scenario file), the relaysim version and the random streams."""
        meta: dict[str, Any] = {"relaysim_version": relaysim.__version__,
                                "stream_version": STREAM_VERSION}
        if len(self.scenarios) == 1:
            meta["scenario_hash"] = next(iter(self.scenarios.values()))
        # wrapped to the figure's width (about 0.6 em a character), so no line runs off it
        chars = int(fig.get_figwidth() * 72 / (0.6 * fontsize))
        note(fig, "\n".join(textwrap.wrap(text, chars)), meta, fontsize)

    def figure(self, fig: Any, name: str) -> None:
        save(fig, self.out / name)
        self.figures.append(name)

    def say(self, line: str = "") -> None:
        self.lines.append(line)

    def headline(self, key: str, value: float, claim: tuple[float, float], what: str,
                 ci95: list[float] | None = None, effect: dict[str, Any] | None = None
                 ) -> bool:
        """Record a headline number and the range the experiment claims for it.

        effect: the paired() result behind a completion difference; its coverage effect
        (points as a fraction, with its interval) is recorded next to it (`coverage`) and
        shown in the summary's table, since completion is a threshold on coverage."""
        value = float(value)  # numpy scalars are not JSON
        ci95 = None if ci95 is None else [float(c) for c in ci95]
        ok = bool(claim[0] <= value <= claim[1])
        self.headlines[key] = {"value": value, "ci95": ci95, "claim": list(claim),
                               "what": what, "holds": ok}
        if effect is not None and "coverage" in effect:
            c = effect["coverage"]
            self.headlines[key]["coverage"] = {"value": float(c["difference"]),
                                               "ci95": [float(x) for x in c["ci95"]]}
        return ok

    def finish(self, answer: str) -> None:
        """Write summary.md and results.json, print the answer."""
        doc = self.doc.strip()
        mode = "quick (for tests; small samples)" if self.quick else "publication-grade"
        commit = _git_commit()
        files = ", ".join(f"{f} ({h[:12]})" for f, h in sorted(self.scenarios.items()))
        md = [f"# {self.name}", "", doc, "", f"Run: {mode}, seed {self.seed}, replications "
              f"{', '.join(map(str, sorted(self.rep_counts))) or 'n/a'}, relaysim "
              f"{relaysim.__version__} (commit {commit or 'unknown'}), random streams "
              f"v{STREAM_VERSION}, scenarios {files or 'n/a'}, "
              f"{time.perf_counter() - self.started:.0f} s.", ""]
        md += ["## Results", "", *self.lines, ""]
        md += ["## Headline numbers and the ranges claimed for them", "",
               "| number | value | 95% CI | coverage effect (points, 95% CI) | claimed range "
               "| holds |", "|---|---|---|---|---|---|"]
        for k, h in self.headlines.items():
            c = h["ci95"]
            cis = f"{c[0]:.3f} to {c[1]:.3f}" if c else ""
            cov = h.get("coverage")
            covs = (f"{100 * cov['value']:+.1f} ({100 * cov['ci95'][0]:+.1f} to "
                    f"{100 * cov['ci95'][1]:+.1f})" if cov else "")
            md.append(f"| {h['what']} (`{k}`) | {h['value']:.3f} | {cis} | {covs} | "
                      f"{h['claim'][0]:g} to {h['claim'][1]:g} | {'yes' if h['holds'] else 'NO'} |")
        md += ["", "## Answer", "", answer, ""]
        md += ["## Figures", ""] + [f"![{f}]({f})" for f in self.figures] + [""]
        atomic_write(self.out / "summary.md", "\n".join(md))
        atomic_write(self.out / "results.json", json.dumps(json_safe(
            {"experiment": self.name, "quick": self.quick, "seed": self.seed,
             "reps": sorted(self.rep_counts), "scenario_hashes": self.scenarios,
             "relaysim_version": relaysim.__version__, "stream_version": STREAM_VERSION,
             "git_commit": commit,
             "headlines": self.headlines, "figures": self.figures, "answer": answer}),
            indent=2, allow_nan=False))
        print(answer)
        print(f"(written to {self.out})")
        if not all(h["holds"] for h in self.headlines.values()):
            print("NOTE: some headline numbers fall outside the claimed range; see summary.md",
                  file=sys.stderr)


def _whole(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < least:
            raise argparse.ArgumentTypeError(f"must be >= {least}, got {v}")
        return v
    return parse


def _git_commit() -> str | None:
    """The commit of this checkout (with '-dirty' if files differ), or None outside git."""
    try:  # as benchmarks/engine.py records it
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty",
                              "--abbrev=12"], capture_output=True, text=True, timeout=10,
                             check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cli(main: Callable[[list[str]], None]) -> None:
    """Run an experiment's main: a relaysim or file error is one line and exit status 2."""
    try:
        main(sys.argv[1:])
    except (RelaysimError, OSError) as e:
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        sys.exit(2)


def improved(sc: relaysim.Scenario, work: float = 1.0, fumble: float = 1.0,
             levels: list[str] | None = None) -> relaysim.Scenario:
    """Scale every level's work times by `work` and every zone's fumble by `fumble`."""
    values: dict[str, Any] = {}
    for lv in sc.levels:
        if levels is None or lv.name in levels:
            if work != 1.0:
                values[f"levels.{lv.name}.work"] = scaled(
                    sc.get(f"levels.{lv.name}.work"), work)
    for z in sc.zones:
        if z is not None and (levels is None or z.to in levels) and fumble != 1.0:
            values[f"zones.{z.to}.fumble"] = z.fumble * fumble
    return sc.with_values(values) if values else sc


# ------------------------------------------------ the odds effects' plausible ranges


@dataclass(frozen=True)
class Range:
    """A plausible range of one parameter, and why."""

    low: float
    high: float
    why: str


_RULE = ("ASSUMPTION (no published figure; MODEL.md calls every default an assumption): "
         "the effect's size on the log-odds of a fumble between half and one and a half "
         "times its default, as weakest_zone's Sobol ranges take half to one and a half "
         "times each fumble risk; the direction is not in doubt")
#: Plausible ranges of the odds effects of MODEL.md's fumble formula (issue 13 item 7),
#: drawn uniformly by effects_drawn and effect_vectors. One rule for all six: the log-odds
#: effect x (0.5, 1.5). For the slopes (trust, clarity, tank) that is the default x 0.5 to
#: 1.5; for the odds factors (rehearsal, checkpoint, load) it is default ** 0.5 to
#: default ** 1.5, rounded outwards to two decimals.
EFFECT_RANGES: dict[str, Range] = {
    "effects.trust": Range(1.0, 3.0, f"{_RULE} (the seeds' 'trust is the real currency': "
                           "more trust, fewer fumbles). Across the whole trust scale a "
                           "trusting receiver fumbles at odds e^-1 to e^-3 of a distrustful "
                           "one; the baseline's trusts (0.45 to 0.6) move the odds by at "
                           "most e^0.3"),
    "effects.clarity": Range(1.0, 3.0, f"{_RULE} (the seeds: clarity is the first "
                             "condition of execution). The baseline's clarity 0.6 cuts the "
                             "odds of every handoff by e^-0.1 to e^-0.3"),
    "effects.rehearsal": Range(0.35, 0.71, f"{_RULE}: 0.5 ** 1.5 to 0.5 ** 0.5 (rehearsal "
                               "helps, as relay teams' practice shows). practice_the_pass "
                               "also sweeps it from 1 to 0.2 for its own question"),
    "effects.checkpoint": Range(0.46, 0.78, f"{_RULE}: 0.6 ** 1.5 to 0.6 ** 0.5 (a joint "
                                "checkpoint before the handoff, seed 001, lowers the odds)"),
    "effects.load": Range(1.11, 1.40, f"{_RULE}: 1.25 ** 0.5 to 1.25 ** 1.5 (a receiver "
                          "juggling batons fumbles more, seed 001)"),
    "effects.tank": Range(0.75, 2.25, f"{_RULE}: an empty tank multiplies the odds by e^0.75 "
                          "= 2.1 to e^2.25 = 9.5 (default 4.5)"),
}


def effects_drawn(sc: relaysim.Scenario, ranges: dict[str, Range] | None = None,
                  per: str = "replication") -> relaysim.Scenario:
    """`sc` with each odds effect drawn uniformly from its plausible range (`per`
    replication: one value for the whole district). Two variants run with one seed draw
    the same values in each replication (keyed streams), so they stay paired."""
    ranges = EFFECT_RANGES if ranges is None else ranges
    return sc.with_values({p: {"dist": "uniform", "low": r.low, "high": r.high, "per": per}
                           for p, r in ranges.items()})


def effect_vectors(sc: relaysim.Scenario, k: int, seed: int,
                   ranges: dict[str, Range] | None = None) -> list[dict[str, float]]:
    """k draws of the odds effects (each a dict path -> value): the values that
    replications 0..k-1 of effects_drawn(sc) draw with `seed`."""
    drawn = effects_drawn(sc, ranges)
    return [replication_values(drawn, seed, rep) for rep in range(k)]


# ----------------------------------------------------------- headline comparisons


@dataclass(frozen=True)
class Contrast:
    """A headline comparison as a contrast of variants, replication by replication: the
    sum over variants of weight x outcome (`attr`, "completed" or "coverage"). `claim` is
    the sign the experiment's answer gives it: +1, -1, or 0 (a tie: no difference)."""

    key: str
    what: str
    weights: dict[str, float]
    claim: int
    attr: str = "completed"


def contrast_effect(runs: dict[str, relaysim.RunResult], c: Contrast) -> dict[str, Any]:
    """The contrast's mean over replications with its paired 95% interval: paired() for
    B - A (Tango's score interval for completion), else intervals.paired_means on the
    weighted sums of the positive and the negative terms (Student t, variance floored)."""
    pos = {k: w for k, w in c.weights.items() if w > 0}
    neg = {k: -w for k, w in c.weights.items() if w < 0}
    if list(pos.values()) == [1] and list(neg.values()) == [1]:
        return paired(runs[next(iter(neg))], runs[next(iter(pos))], c.attr)
    x = sum(w * per_rep(runs[k], c.attr) for k, w in neg.items())
    y = sum(w * per_rep(runs[k], c.attr) for k, w in pos.items())
    m = paired_means(x, y, max_abs_difference=max(sum(pos.values()), sum(neg.values())))
    return {"difference": m.difference, "ci95": list(m.ci), "se": m.se, "n": m.n,
            "method": m.method, "nonzero_pairs": m.nonzero}


def resolved_sign(d: dict[str, Any]) -> int:
    """+1 or -1 when the 95% interval excludes 0 on that side, 0 when it includes 0."""
    lo, hi = d["ci95"]
    return 1 if lo > 0 else -1 if hi < 0 else 0


def share_of_draws(signs: list[int], claim: int) -> dict[str, Any]:
    """How often a verdict holds over K effect draws, each judged by its own paired
    interval (`signs`: resolved_sign per draw). For a claimed sign (+1 or -1) the verdict
    holds where the interval lies on the claimed side and is reversed where it lies on
    the other; the share of draws in which the true effect has the claimed sign lies
    between `holds` and 1 - `reversed` (up to each interval's 5% error). For a tie
    (claim 0) it holds where the interval includes 0 (which depends on the replications
    per draw) and breaks where it excludes it. Shares come with Wilson intervals."""
    k = len(signs)
    if claim == 0:
        n_hold, n_rev = sum(s == 0 for s in signs), sum(s != 0 for s in signs)
    else:
        n_hold, n_rev = sum(s == claim for s in signs), sum(s == -claim for s in signs)
    return {"k": k, "holds": n_hold / k, "holds_ci95": list(wilson(n_hold, k)),
            "reversed": n_rev / k, "reversed_ci95": list(wilson(n_rev, k)),
            "unresolved": (k - n_hold - n_rev) / k,
            "positive": sum(s > 0 for s in signs), "negative": sum(s < 0 for s in signs)}
