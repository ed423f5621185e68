"""Peer sharing in what people see (issue 17 item 5): the relay picture's arcs between the
runners of the sharing level (only when a level shares), its numbers from a run, the run
text's relay line, and the explorer's recognition lever."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import matplotlib.patches as mpatches
import matplotlib.text as mtext
import pytest

import relaysim
from relaysim.app.levers import default_levers
from relaysim.app.session import relay_figure
from relaysim.present import plot as P

ROOT = Path(__file__).resolve().parent.parent
DOTTED = re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_]+\b")
RECOGNITION = "levels.principal.sharing.recognition"


@pytest.fixture(scope="module")
def base() -> relaysim.Scenario:
    return relaysim.load_scenario(ROOT / "scenarios" / "baseline.toml")


def _texts(fig: Any) -> list[str]:
    return [t.get_text() for t in fig.findobj(mtext.Text) if t.get_text().strip()]


def _arcs(fig: Any) -> list[Any]:
    return [p for p in fig.axes[0].patches if isinstance(p, mpatches.FancyArrowPatch)]


def test_relay_has_arcs_only_when_a_level_shares(base: relaysim.Scenario) -> None:
    plain = P.relay(base)
    assert _arcs(plain) == []
    assert not any("sideways" in t for t in _texts(plain))
    for network, degree, arcs in (("all", 2, 10), ("ring", 2, 5), ("segment", 2, 4)):
        sc = _segmented(base) if network == "segment" else base
        sc = sc.with_values({"levels.principal.sharing.rate": 4.0,
                             "levels.principal.sharing.network": network,
                             "levels.principal.sharing.degree": degree})
        fig = P.relay(sc)
        assert len(_arcs(fig)) == arcs, network
        words = " ".join(_texts(fig))
        assert "Principals pass it sideways" in words
        assert "hosts 4 showcase visits a year" in words
        assert "picked up from a peer" not in words  # no numbers without a run
        assert not DOTTED.search(words)
        # the five runner dots of the principals' row, besides one circle per level
        circles = [p for p in fig.axes[0].patches if isinstance(p, mpatches.Circle)]
        assert len(circles) == 4 + 5


def _segmented(base: relaysim.Scenario) -> relaysim.Scenario:
    raw = tomllib.loads((ROOT / "scenarios" / "baseline.toml").read_text(encoding="utf-8"))
    raw["levels"][1]["segments"] = [{"name": "elementary", "share": 0.6, "set": {}},
                                    {"name": "secondary", "share": 0.4, "set": {}}]
    return relaysim.scenario_from_dict(raw)


def test_relay_with_a_runs_numbers_in_planners_words(base: relaysim.Scenario) -> None:
    sc = base.with_values({"levels.principal.sharing.rate": 4.0})
    peers = {"level": "principal", "recovered": 0.4, "from_dropped": 0.15,
             "from_lost": 0.25, "rescued": 0.6}
    fig = P.relay(sc, peers=peers)
    words = _texts(fig)
    assert any("picked up from a peer: 0.40 batons a run" in t for t in words)
    assert any("40% of the batons recovered here (district reviews: 60%)" in t
               for t in words)
    quiet = P.relay(sc.with_values({RECOGNITION: 0.0}), peers={"recovered": 0.0})
    assert any("no showcase visits (no recognition)" in t for t in _texts(quiet))
    assert not any("% of the batons recovered here" in t for t in _texts(quiet))
    png = P.data_uri(fig, dpi=40)  # it renders
    assert png.startswith("data:image/png;base64,")


def test_explorer_relay_reads_the_runs_peer_sharing(base: relaysim.Scenario) -> None:
    sc = base.with_values({"levels.principal.sharing.rate": 4.0, "feedback.detect": 0.5})
    res = relaysim.run(sc, reps=60, seed=1, workers=1)
    fig = relay_figure(res, "reading")
    words = " ".join(_texts(fig))
    got = res.summary["initiatives"]["reading"]["peer_sharing"]["recovered"]
    assert f"picked up from a peer: {got:.2f} batons a run" in words
    assert "district reviews:" in words
    assert _arcs(fig)
    off = relaysim.run(base, reps=20, seed=1, workers=1)
    assert _arcs(relay_figure(off, "reading")) == []


def test_run_text_tells_the_sideways_relay(base: relaysim.Scenario) -> None:
    sc = base.with_values({"levels.principal.sharing.rate": 4.0,
                           "levels.principal.sharing.network": "ring"})
    text = relaysim.run(sc, reps=10, seed=0, workers=1).text()
    assert ("and sideways between principals (each with its nearest neighbours): a "
            "principal whose classrooms have it working (80%) hosts 4 showcase visits a "
            "year") in text
    assert "sideways" not in relaysim.run(base, reps=10, seed=0, workers=1).text()


def test_recognition_lever_only_for_a_level_that_shares(base: relaysim.Scenario) -> None:
    assert not [lv for lv in default_levers(base) if "sharing" in lv.path]
    sc = base.with_values({"levels.principal.sharing.rate": 4.0, RECOGNITION: 1.5})
    got = [lv for lv in default_levers(sc) if "sharing" in lv.path]
    assert len(got) == 1
    lever = got[0]
    assert (lever.path, lever.group, lever.kind) == (RECOGNITION, "Sharing school wins",
                                                     "float")
    assert lever.label == "recognition of showcases"
    assert lever.base == 1.5 and lever.lo == 0.0 and lever.hi == 3.0
    # moving it goes through with_values like --set: 0 is the leveling norm, no visits
    assert sc.with_values({lever.path: lever.lo}).levels[1].sharing.share_rate == 0.0
    assert sc.with_values({lever.path: lever.hi}).levels[1].sharing.share_rate == 12.0


def test_report_relay_section_tells_the_arcs(base: relaysim.Scenario, tmp_path: Path) -> None:
    from relaysim.present.report import report_html

    sc = base.with_values({"levels.principal.sharing.rate": 4.0})
    relaysim.sweep(sc, [{RECOGNITION: 0.5}, {RECOGNITION: 2.0}], reps=10, seed=0,
                   out=tmp_path / "sw", workers=1)
    page = report_html(tmp_path / "sw")
    assert "The arcs above the principals are the sideways handoffs of peer sharing" in page
    relaysim.sweep(base, [{"zones.coach.fumble": 0.1}], reps=10, seed=0,
                   out=tmp_path / "plain", workers=1)
    assert "sideways" not in report_html(tmp_path / "plain")
