"""Scenario files: every validation error, dotted paths, --set overrides, the hash.

Each error test writes a small TOML file, loads it and checks that the ScenarioError names
the file, the dotted path and what is wrong. `BASE` is a valid scenario; most cases patch
one line of it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

import relaysim
from relaysim import Scenario, ScenarioError, load_scenario, scenario_from_dict
from relaysim.cli import main as cli_main
from relaysim.errors import Problem
from relaysim.model.distributions import MAX_DAYS, MAX_SPREAD, MIN_CV
from relaysim.model.scenario import parse_value
from relaysim.model.schema import MAX_CLASSROOMS

BASE = """\
[scenario]
name = "t"
horizon = 100

[[levels]]
name = "district"

[[levels]]
name = "school"
count = 3
work = { dist = "exponential", mean = 5 }

[[levels]]
name = "classroom"
count = 2

[[zones]]
to = "school"
duration = { dist = "exponential", mean = 2 }
fumble = 0.1

[[initiatives]]
name = "reading"
deadline = 100
"""

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


# --------------------------------------------------------------------------- helpers


def patch(old: str, new: str, text: str = BASE) -> str:
    """`text` with its one occurrence of `old` replaced (old = '' appends `new`)."""
    if not old:
        return text + "\n" + new + "\n"
    assert text.count(old) == 1, f"{old!r} must occur once in the base scenario"
    return text.replace(old, new)


def write(tmp_path: Path, text: str | bytes, name: str = "s.toml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def load(tmp_path: Path, text: str) -> Scenario:
    return load_scenario(write(tmp_path, text))


def failure(path: Path) -> ScenarioError:
    """The ScenarioError from loading `path`; checks that every line names the file."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    e = info.value
    assert e.source == str(path)
    lines = str(e).splitlines()
    assert lines[0].startswith(f"{path}: {len(e.problems)} problem")
    assert len(lines) == len(e.problems) + 1
    for line in lines[1:]:
        assert line.strip().startswith(f"{path}: "), line
    return e


def problems(tmp_path: Path, text: str) -> dict[str, str]:
    """{dotted path: message} of every problem in the scenario `text`."""
    e = failure(write(tmp_path, text))
    out: dict[str, str] = {}
    for p in e.problems:
        assert p.path not in out, f"two problems at {p.path}"
        out[p.path] = p.message
    return out


def only_problem(tmp_path: Path, text: str) -> Problem:
    e = failure(write(tmp_path, text))
    assert len(e.problems) == 1, e.report()
    return e.problems[0]


# --------------------------------------------------------------------------- the file


def test_bundled_scenarios_are_valid():
    """Every file in scenarios/ loads."""
    files = sorted(SCENARIOS.glob("*.toml"))
    assert {"minimal.toml", "baseline.toml"} <= {f.name for f in files}
    for f in files:
        sc = load_scenario(f)
        assert sc.source == str(f)


def test_baseline_shape():
    """The baseline is a mid-size district: 20 schools, 2-3 coaches each, 8-10 classrooms."""
    sc = load_scenario(SCENARIOS / "baseline.toml")
    assert [lv.name for lv in sc.levels] == ["district", "principal", "coach", "classroom"]
    assert sc.level_sizes[1] == 20
    assert 2 <= sc.levels[2].count <= 3 and 8 <= sc.levels[3].count <= 10
    assert sc.zones[0] is None and all(z is not None for z in sc.zones[1:])
    (ini,) = sc.initiatives
    assert ini.launch == 0 and ini.deadline <= sc.horizon
    # a reached classroom clears the fidelity bar with the retentions as written
    kept = math.prod(z.retention for z in sc.zones[1:])
    assert kept < 1 and kept >= ini.min_fidelity


def test_valid_base(tmp_path):
    """The base scenario used below is valid and normalised."""
    sc = load(tmp_path, BASE)
    assert sc.level_sizes == (1, 3, 6)
    assert sc.zones[0] is None and sc.zones[2] is None
    assert sc.zones[1].fumble == 0.1
    assert sc.initiatives[0].deadline == 100.0


def test_missing_file(tmp_path):
    """A missing file is a ScenarioError naming it, not an OSError."""
    e = failure(tmp_path / "nope.toml")
    assert "file not found" in e.problems[0].message


def test_directory_is_not_a_file(tmp_path):
    """A directory given as the scenario is reported as unreadable."""
    e = failure(tmp_path)
    assert "cannot read" in e.problems[0].message


def test_invalid_toml(tmp_path):
    """A TOML syntax error names the file and says it is not valid TOML."""
    e = failure(write(tmp_path, "[scenario\nhorizon = 1\n"))
    assert "not valid TOML" in e.problems[0].message


def test_duplicate_toml_key_is_invalid_toml(tmp_path):
    """A key written twice is a TOML error, not a silent override."""
    e = failure(write(tmp_path, patch("horizon = 100", "horizon = 100\nhorizon = 200")))
    assert "not valid TOML" in e.problems[0].message


def test_non_utf8(tmp_path):
    """A file that is not UTF-8 is reported, not a UnicodeDecodeError."""
    e = failure(write(tmp_path, b"\xff\xfe[scenario]\nhorizon = 1\n"))
    assert "cannot read" in e.problems[0].message and "utf-8" in e.problems[0].message


def test_scenario_from_dict_needs_a_table():
    """A parsed scenario that is not a table is refused."""
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict([1, 2])  # type: ignore[arg-type]
    assert "must be a table" in str(info.value)


# --------------------------------------------------------------------------- unknown keys


def test_unknown_top_level_section(tmp_path):
    """An unknown [section] is named, with the valid sections listed."""
    p = only_problem(tmp_path, patch("", "[zzz]\nx = 1"))
    assert p.path == "zzz"
    assert "unknown key 'zzz'" in p.message
    assert "did you mean" not in p.message
    for s in ("scenario", "levels", "zones", "initiatives", "effects"):
        assert s in p.message


def test_unknown_section_with_suggestion(tmp_path):
    """A misspelled section gets the nearest valid one."""
    p = only_problem(tmp_path, patch("", "[efects]\nload = 1.5"))
    assert p.path == "efects"
    assert "did you mean 'effects'?" in p.message


@pytest.mark.parametrize(
    ("old", "new", "path", "suggestion"),
    [
        ("horizon = 100", "horizon = 100\nhorizn = 3", "scenario.horizn", "horizon"),
        ("count = 3", "count = 3\ncapacty = 2", "levels.school.capacty", "capacity"),
        ("fumble = 0.1", "fumble = 0.1\nfumbel = 0.2", "zones.school.fumbel", "fumble"),
        ('deadline = 100', 'deadline = 100\nclarty = 0.2', "initiatives.reading.clarty",
         "clarity"),
        ("", "[effects]\nrehersal = 0.4", "effects.rehersal", "rehearsal"),
        ("mean = 5 }", "mean = 5, meen = 3 }", "levels.school.work.meen", "mean"),
        ("fumble = 0.1", "fumble = 0.1\nwindow = { period = 10, open = 0, close = 5, clse = 4 }",
         "zones.school.window.clse", "close"),
    ],
)
def test_unknown_key_with_suggestion(tmp_path, old, new, path, suggestion):
    """An unknown key anywhere is reported at its dotted path with the nearest valid key."""
    p = only_problem(tmp_path, patch(old, new))
    assert p.path == path
    assert f"did you mean '{suggestion}'?" in p.message
    assert "valid keys:" in p.message


def test_unknown_key_without_near_match(tmp_path):
    """A key close to nothing gets no suggestion but still lists the valid keys."""
    p = only_problem(tmp_path, patch("count = 3", "count = 3\nzzzzzz = 1"))
    assert p.path == "levels.school.zzzzzz"
    assert "did you mean" not in p.message
    assert "valid keys: capacity, count, loss_on_turnover, merged_with_parent, name," in p.message


@pytest.mark.parametrize("key", ["turnover", "vacancy", "succession", "tank", "segments",
                                 "merged_with_parent"])
def test_dynamics_keys_are_checked(tmp_path, key):
    """Level keys of the dynamics are known keys whose values are type-checked (a string
    where each expects a number, table, array or boolean); tests/test_dynamics.py has more."""
    p = only_problem(tmp_path, patch("count = 3", f'count = 3\n{key} = "x"'))
    assert p.path == f"levels.school.{key}"
    assert "unknown key" not in p.message


@pytest.mark.parametrize("section", ["initiative_stream", "feedback"])
def test_dynamics_sections_are_checked(tmp_path, section):
    """Dynamics sections are known; an unknown key inside one is reported with its path."""
    p = only_problem(tmp_path, patch("", f"[{section}]\nratte = 1"))
    assert p.path == f"{section}.ratte" and "unknown key" in p.message


# --------------------------------------------------------------------------- required keys


def test_missing_horizon(tmp_path):
    p = only_problem(tmp_path, patch("horizon = 100\n", ""))
    assert p.path == "scenario.horizon" and "is required" in p.message


def test_missing_scenario_table(tmp_path):
    """Without [scenario] both the table and its horizon are reported."""
    text = patch('[scenario]\nname = "t"\nhorizon = 100\n', "")
    got = problems(tmp_path, text)
    assert set(got) == {"scenario", "scenario.horizon"}
    assert "required" in got["scenario"] and "is required" in got["scenario.horizon"]


def test_missing_level_name(tmp_path):
    """A level without a name is addressed by its position."""
    p = only_problem(tmp_path, patch('name = "classroom"\n', ""))
    assert p.path == "levels[2].name" and "is required" in p.message


@pytest.mark.parametrize("new", ["", "name = 5\n"])
def test_missing_level_name_with_zone(tmp_path, new):
    """A nameless level, and a zone into it, are both reported (no TypeError)."""
    got = problems(tmp_path, patch('name = "school"\n', new))
    assert "levels[1].name" in got and "zones.school.to" in got


def test_missing_zone_to(tmp_path):
    p = only_problem(tmp_path, patch('to = "school"\n', ""))
    assert p.path == "zones[0].to" and "is required" in p.message


def test_missing_initiative_name(tmp_path):
    p = only_problem(tmp_path, patch('name = "reading"\n', ""))
    assert p.path == "initiatives[0].name" and "is required" in p.message


def test_missing_levels(tmp_path):
    text = BASE.split("[[levels]]")[0] + "[[initiatives]]\nname = 'r'\n"
    p = only_problem(tmp_path, text)
    assert p.path == "levels" and "at least one [[levels]] table is required" in p.message


def test_empty_levels_array(tmp_path):
    text = "levels = []\n" + BASE.split("[[levels]]")[0] + "[[initiatives]]\nname = 'r'\n"
    p = only_problem(tmp_path, text)
    assert p.path == "levels" and "at least one level is required" in p.message


def test_levels_must_be_an_array_of_tables(tmp_path):
    text = "levels = [1, 2]\n" + BASE.split("[[levels]]")[0] + "[[initiatives]]\nname = 'r'\n"
    e = failure(write(tmp_path, text))
    assert {p.path for p in e.problems} == {"levels"}
    assert "must be an array of tables" in e.problems[0].message


def test_missing_initiatives(tmp_path):
    text = BASE.split("[[initiatives]]")[0]
    p = only_problem(tmp_path, text)
    assert p.path == "initiatives" and "at least one [[initiatives]]" in p.message


def test_empty_initiatives_array(tmp_path):
    """An empty initiatives array is as wrong as a missing one."""
    text = BASE.split("[[initiatives]]")[0].replace("[scenario]", "initiatives = []\n[scenario]")
    p = only_problem(tmp_path, text)
    assert p.path == "initiatives"


@pytest.mark.parametrize("section", ["scenario", "effects"])
def test_section_must_be_a_table(tmp_path, section):
    text = BASE if section != "scenario" else patch('[scenario]\nname = "t"\nhorizon = 100\n', "")
    text = f"{section} = 5\n" + text
    got = problems(tmp_path, text)
    assert "must be a table, got int" in got[section]


# --------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    [
        # string for a number
        ("horizon = 100", 'horizon = "100"', "scenario.horizon",
         "must be a number, got the string '100'"),
        ("fumble = 0.1", 'fumble = "low"', "zones.school.fumble", "must be a number"),
        ("count = 3", 'count = "3"', "levels.school.count", "must be a whole number"),
        # bool for a number
        ("horizon = 100", "horizon = true", "scenario.horizon", "must be a number, got true"),
        ("count = 3", "count = true", "levels.school.count", "must be a whole number, got true"),
        # float for an int
        ("count = 3", "count = 2.5", "levels.school.count", "must be a whole number, got 2.5"),
        ("count = 3", "count = 3\ncapacity = 1.5", "levels.school.capacity",
         "must be a whole number"),
        ('deadline = 100', 'deadline = 100\npriority = 0.5', "initiatives.reading.priority",
         "must be a whole number"),
        # int-or-unlimited
        ("fumble = 0.1", 'fumble = 0.1\nmax_attempts = "many"', "zones.school.max_attempts",
         'must be a whole number or "unlimited"'),
        ("fumble = 0.1", "fumble = 0.1\nslots = 1.5", "zones.school.slots",
         'must be a whole number or "unlimited"'),
        # bool
        ("fumble = 0.1", "fumble = 0.1\nrehearsed = 1", "zones.school.rehearsed",
         "must be true or false, got 1"),
        ("fumble = 0.1", 'fumble = 0.1\ncheckpoint = "yes"', "zones.school.checkpoint",
         "must be true or false"),
        # strings and names
        ('name = "t"', "name = 5", "scenario.name", "must be a string, got 5"),
        ('name = "t"', 'name = "t"\ndescription = ["a"]', "scenario.description",
         "must be a string, got an array"),
        ('name = "school"', 'name = "1school"', "levels[1].name", "is not a valid name"),
        ('name = "school"', 'name = "my school"', "levels[1].name", "is not a valid name"),
        ('name = "reading"', "name = 3", "initiatives[0].name", "must be a string"),
        # a table where a number is expected, a number where a table is expected
        ("fumble = 0.1", "fumble = { p = 0.1 }", "zones.school.fumble",
         "must be a number, got a table"),
    ],
)
def test_wrong_type(tmp_path, old, new, path, fragment):
    """A value of the wrong type is reported at its dotted path, saying what was expected."""
    text = patch(old, new)
    got = problems(tmp_path, text)
    assert path in got, got
    assert fragment in got[path]


def test_integral_float_is_accepted_as_int(tmp_path):
    """`count = 3.0` means 3 (and is the same scenario as `count = 3`)."""
    a = load(tmp_path, BASE)
    b = load(tmp_path, patch("count = 3", "count = 3.0"))
    assert b.levels[1].count == 3 and isinstance(b.levels[1].count, int)
    assert a.hash == b.hash


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("horizon = 100", "horizon = nan", "scenario.horizon"),
        ("horizon = 100", "horizon = inf", "scenario.horizon"),
        ("fumble = 0.1", "fumble = nan", "zones.school.fumble"),
        ("fumble = 0.1", "fumble = -inf", "zones.school.fumble"),
        ("count = 3", "count = 3\ntrust = nan", "levels.school.trust"),
        ("count = 3", "count = inf", "levels.school.count"),
        ("count = 3", "count = nan", "levels.school.count"),
        ("mean = 5 }", "mean = inf }", "levels.school.work.mean"),
        ("mean = 5 }", "mean = nan }", "levels.school.work.mean"),
        ('deadline = 100', 'deadline = 100\nclarity = nan', "initiatives.reading.clarity"),
        ("", "[effects]\nload = inf", "effects.load"),
        ("fumble = 0.1", "fumble = 0.1\nwindow = { period = inf, open = 0, close = 5 }",
         "zones.school.window.period"),
        ("fumble = 0.1", "fumble = 0.1\nretention = +inf", "zones.school.retention"),
    ],
)
def test_nan_and_inf_are_refused(tmp_path, old, new, path):
    """TOML nan and inf are never valid parameters."""
    got = problems(tmp_path, patch(old, new))
    assert path in got, got
    msg = got[path]
    assert "finite" in msg or "whole number" in msg, msg


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("horizon = 100", "horizon = 1" + "0" * 400),
        ("count = 3", "count = -1" + "0" * 400),
    ],
)
def test_huge_integers_are_reported(tmp_path, old, new):
    """An integer beyond float range is a scenario problem, not an OverflowError."""
    failure(write(tmp_path, patch(old, new)))


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    [
        ("fumble = 0.1", "fumble = 1", "zones.school.fumble", "must be >= 0 and < 1, got 1"),
        ("fumble = 0.1", "fumble = -0.1", "zones.school.fumble", "must be >= 0 and < 1"),
        ("count = 3", "count = 3\ntrust = 1.5", "levels.school.trust",
         "must be >= 0 and <= 1, got 1.5"),
        ("fumble = 0.1", "fumble = 0.1\nrecover = 2", "zones.school.recover", "<= 1"),
        ("fumble = 0.1", "fumble = 0.1\nretention = -0.5", "zones.school.retention", ">= 0"),
        ("count = 3", "count = 0", "levels.school.count", "must be >= 1, got 0"),
        ("count = 3", "count = 3\ncapacity = 0", "levels.school.capacity", "must be >= 1, got 0"),
        ("count = 3", "count = -2", "levels.school.count", "must be >= 1"),
        ("fumble = 0.1", "fumble = 0.1\nmax_attempts = 0", "zones.school.max_attempts",
         "must be >= 1"),
        ("fumble = 0.1", "fumble = 0.1\nslots = 0", "zones.school.slots", "must be >= 1"),
        ("horizon = 100", "horizon = 0", "scenario.horizon", "must be > 0"),
        ("horizon = 100", "horizon = -5", "scenario.horizon", "must be > 0"),
        ("horizon = 100", "horizon = 100\nyear_length = 0", "scenario.year_length",
         "must be > 0"),
        ('deadline = 100', 'deadline = 100\nlaunch = -1', "initiatives.reading.launch",
         "must be >= 0"),
        ('deadline = 100', 'deadline = 100\nsuccess_threshold = 0',
         "initiatives.reading.success_threshold", "must be > 0 and <= 1"),
        ('deadline = 100', 'deadline = 100\nsuccess_threshold = 1.01',
         "initiatives.reading.success_threshold", "<= 1"),
        ('deadline = 100', 'deadline = 100\nmin_fidelity = 1.2',
         "initiatives.reading.min_fidelity", "<= 1"),
        ('deadline = 100', 'deadline = 100\nclarity = -0.1', "initiatives.reading.clarity",
         ">= 0"),
        ("", "[effects]\nrehearsal = 0", "effects.rehearsal", "must be > 0"),
        ("", "[effects]\ntrust = -1", "effects.trust", "must be >= 0"),
        ("", "[effects]\ncheckpoint_time = -2", "effects.checkpoint_time", "must be >= 0"),
        # negative durations
        ("mean = 5 }", "mean = -5 }", "levels.school.work.mean", "must be > 0"),
        ("mean = 2 }", "mean = 0 }", "zones.school.duration.mean", "must be > 0"),
        ('work = { dist = "exponential", mean = 5 }', "work = -3", "levels.school.work.value",
         "must be >= 0"),
        ('work = { dist = "exponential", mean = 5 }', 'work = { dist = "fixed", value = -1 }',
         "levels.school.work.value", "must be >= 0"),
        ('work = { dist = "exponential", mean = 5 }',
         'work = { dist = "gamma", mean = 5, cv = 0 }', "levels.school.work.cv",
         "must be >= 0.01 and <= 10, got 0"),
        ('work = { dist = "exponential", mean = 5 }',
         'work = { dist = "lognormal", median = 5, sigma = -1 }', "levels.school.work.sigma",
         "must be >= 0"),
        ('work = { dist = "exponential", mean = 5 }',
         'work = { dist = "uniform", low = -1, high = 3 }', "levels.school.work.low",
         "must be >= 0"),
        ("fumble = 0.1", 'fumble = 0.1\nrework = { dist = "triangular", low = -2, mode = 1, '
         "high = 3 }", "zones.school.rework.low", "must be >= 0"),
    ],
)
def test_out_of_range(tmp_path, old, new, path, fragment):
    """A value outside its range is reported with the range and the value given."""
    p = only_problem(tmp_path, patch(old, new))
    assert p.path == path
    assert fragment in p.message


def test_in_range_edges_are_accepted(tmp_path):
    """The edges of the ranges that include them are valid."""
    text = patch("fumble = 0.1", "fumble = 0\nrecover = 1\nretention = 0\nmax_attempts = 1")
    text = patch("count = 3", "count = 3\ntrust = 1\ncapacity = 1", text)
    text = patch('deadline = 100', 'deadline = 100\nsuccess_threshold = 1\nmin_fidelity = 1',
                 text)
    sc = load(tmp_path, text)
    assert sc.zones[1].fumble == 0 and sc.zones[1].recover == 1
    assert sc.levels[1].trust == 1 and sc.initiatives[0].success_threshold == 1


# --------------------------------------------------------------------------- distributions

W = 'work = { dist = "exponential", mean = 5 }'


@pytest.mark.parametrize(
    ("new", "path", "fragment"),
    [
        ('work = { dist = "gama", mean = 5, cv = 1 }', "levels.school.work.dist",
         "unknown distribution 'gama'; did you mean 'gamma'?"),
        ('work = { dist = "exponentail", mean = 5 }', "levels.school.work.dist",
         "did you mean 'exponential'?"),
        ('work = { dist = "weibull", shape = 2 }', "levels.school.work.dist",
         "unknown distribution 'weibull' (one of: fixed, exponential"),
        ("work = { mean = 5 }", "levels.school.work.dist", "is required (one of:"),
        ('work = "slow"', "levels.school.work", "must be a table, got a string"),
        ("work = true", "levels.school.work", "must be a table, got a boolean"),
        ('work = { dist = "exponential" }', "levels.school.work.mean", "is required"),
        ('work = { dist = "lognormal", median = 5 }', "levels.school.work.sigma", "is required"),
        ('work = { dist = "fixed" }', "levels.school.work.value", "is required"),
        ('work = { dist = "empirical" }', "levels.school.work.values", "is required"),
        ('work = { dist = "exponential", mean = "5" }', "levels.school.work.mean",
         "must be a number"),
        ('work = { dist = "uniform", low = 5, high = 2 }', "levels.school.work",
         "uniform needs low <= high, got 5 > 2"),
        ('work = { dist = "triangular", low = 1, mode = 5, high = 3 }', "levels.school.work",
         "triangular needs low <= mode <= high"),
        ('work = { dist = "triangular", low = 4, mode = 2, high = 6 }', "levels.school.work",
         "triangular needs low <= mode <= high"),
        ('work = { dist = "empirical", values = [] }', "levels.school.work.values",
         "must be a non-empty list of finite numbers >= 0"),
        ('work = { dist = "empirical", values = [1, -2, 3] }', "levels.school.work.values",
         "non-empty list of finite numbers >= 0"),
        ('work = { dist = "empirical", values = [1, nan] }', "levels.school.work.values",
         "finite"),
        ('work = { dist = "empirical", values = [1, inf] }', "levels.school.work.values",
         "finite"),
        ('work = { dist = "empirical", values = [1, "2"] }', "levels.school.work.values",
         "finite numbers"),
        ('work = { dist = "empirical", values = [true] }', "levels.school.work.values",
         "finite numbers"),
        ('work = { dist = "empirical", values = 3 }', "levels.school.work.values",
         "non-empty list"),
        ('work = { dist = "gamma", mean = 5, cv = 1, sd = 2 }', "levels.school.work.sd",
         "unknown key 'sd'"),
    ],
)
def test_bad_distribution(tmp_path, new, path, fragment):
    """Every way a distribution can be wrong is reported at the distribution's path."""
    p = only_problem(tmp_path, patch(W, new))
    assert p.path == path
    assert fragment in p.message


@pytest.mark.parametrize(
    "new",
    [
        "work = 4",
        "work = 0",
        'work = { dist = "fixed", value = 4 }',
        'work = { dist = "gamma", mean = 5, cv = 0.5 }',
        'work = { dist = "lognormal", median = 5, sigma = 0 }',
        'work = { dist = "uniform", low = 2, high = 2 }',
        'work = { dist = "triangular", low = 1, mode = 1, high = 3 }',
        'work = { dist = "empirical", values = [0, 2.5, 7] }',
    ],
)
def test_good_distributions(tmp_path, new):
    """Each family (and a bare number, meaning fixed) is accepted."""
    sc = load(tmp_path, patch(W, new))
    assert sc.levels[1].work.mean >= 0


# Extreme parameters: each would give infinite, NaN or non-monotone samples (or a
# ZeroDivisionError: cv**2 is 0 for cv = 1e-300) if it got past validation.
HUGE_INT = "1" + "0" * 400  # a TOML integer too large for a float

EXTREMES = [
    ('{ dist = "gamma", mean = 5, cv = 1e-300 }', "cv", "must be >= 0.01 and <= 10, got 1e-300"),
    ('{ dist = "gamma", mean = 5, cv = 0.0099 }', "cv", "must be >= 0.01 and <= 10"),
    ('{ dist = "gamma", mean = 5, cv = 10.5 }', "cv", "must be >= 0.01 and <= 10, got 10.5"),
    ('{ dist = "gamma", mean = 5, cv = 1e308 }', "cv", "<= 10"),
    ('{ dist = "gamma", mean = 1e308, cv = 1 }', "mean", "must be > 0 and <= 1e+09"),
    ('{ dist = "lognormal", median = 5, sigma = 1e308 }', "sigma",
     "must be >= 0 and <= 10, got 1e+308"),
    ('{ dist = "lognormal", median = 5, sigma = 10.5 }', "sigma", "<= 10"),
    ('{ dist = "lognormal", median = 1e308, sigma = 1 }', "median", "<= 1e+09"),
    ('{ dist = "exponential", mean = 1e308 }', "mean", "must be > 0 and <= 1e+09, got 1e+308"),
    ('{ dist = "exponential", mean = 1.5e9 }', "mean", "<= 1e+09"),
    ('{ dist = "fixed", value = 1e308 }', "value", "must be >= 0 and <= 1e+09"),
    ("1e308", "value", "<= 1e+09"),
    (HUGE_INT, "value", "must be a finite number"),
    ('{ dist = "uniform", low = 0, high = 1e308 }', "high", "<= 1e+09"),
    ('{ dist = "triangular", low = 0, mode = 1, high = 1e308 }', "high", "<= 1e+09"),
    ('{ dist = "empirical", values = [1, 1e308] }', "values",
     "must be a non-empty list of finite numbers >= 0 and <= 1e+09"),
    (f'{{ dist = "empirical", values = [1, {HUGE_INT}] }}', "values", "<= 1e+09"),
]


def _short(v: object) -> str:
    return str(v) if len(str(v)) <= 60 else str(v)[:30] + "..."


@pytest.mark.parametrize(("dist", "param", "fragment"), EXTREMES, ids=_short)
@pytest.mark.parametrize("where", ["levels.school.work", "zones.school.duration"])
def test_extreme_distribution_parameters_refused(tmp_path, dist, param, fragment, where):
    """Parameters whose samples would overflow, or break scipy's inverse CDF, are refused at
    validation, naming the dotted path of the parameter."""
    key = where.rsplit(".", 1)[1]
    old = W if key == "work" else 'duration = { dist = "exponential", mean = 2 }'
    p = only_problem(tmp_path, patch(old, f"{key} = {dist}"))
    assert p.path == f"{where}.{param}"
    assert fragment in p.message


@pytest.mark.parametrize(("dist", "param", "fragment"), EXTREMES, ids=_short)
def test_extreme_distribution_parameters_refused_by_with_values(tmp_path, dist, param,
                                                                fragment):
    """The same checks apply to a value set by dotted path (--set, --vary, with_values)."""
    sc = load(tmp_path, BASE)
    with pytest.raises(ScenarioError) as info:
        sc.with_values({"levels.school.work": parse_value(dist)})
    (p,) = info.value.problems
    assert p.path == f"levels.school.work.{param}"
    assert fragment in p.message


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("dist", "param"), [(EXTREMES[0][0], "cv"), (EXTREMES[5][0], "sigma")],
                         ids=["gamma-cv-1e-300", "lognormal-sigma-1e308"])
def test_extreme_distribution_cli_exit_2(tmp_path, capsys, command, dist, param):
    """The reviewer's two cases end in exit 2 and a message naming the dotted path, before
    anything is run (they used to raise ZeroDivisionError / run with infinite work times)."""
    path = write(tmp_path, BASE)
    extra = ["--reps", "2", "--workers", "1", "--quiet"] if command == "run" else []
    code = cli_main([command, str(path), "--set", f"levels.school.work={dist}", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert f"levels.school.work.{param}: must be >= 0" in err
    assert "Traceback" not in err


U_EDGES = np.concatenate([
    [0.0, 5e-324, 1e-300, 2.0**-53],
    np.logspace(-15, -1, 300),
    np.linspace(0.0, 1.0, 2001)[1:-1],
    1 - np.logspace(-1, -15, 300),
    [np.nextafter(1.0, 0.0)],
])


@pytest.mark.parametrize(
    "dist",
    [
        {"dist": "gamma", "mean": MAX_DAYS, "cv": MIN_CV},
        {"dist": "gamma", "mean": MAX_DAYS, "cv": MAX_SPREAD},
        {"dist": "gamma", "mean": 1e-300, "cv": MIN_CV},
        {"dist": "gamma", "mean": 5, "cv": MAX_SPREAD},
        {"dist": "lognormal", "median": MAX_DAYS, "sigma": MAX_SPREAD},
        {"dist": "lognormal", "median": 1e-300, "sigma": MAX_SPREAD},
        {"dist": "lognormal", "median": MAX_DAYS, "sigma": 0},
        {"dist": "exponential", "mean": MAX_DAYS},
        {"dist": "fixed", "value": MAX_DAYS},
        {"dist": "uniform", "low": 0, "high": MAX_DAYS},
        {"dist": "uniform", "low": MAX_DAYS, "high": MAX_DAYS},
        {"dist": "triangular", "low": 0, "mode": 0, "high": MAX_DAYS},
        {"dist": "triangular", "low": 0, "mode": MAX_DAYS, "high": MAX_DAYS},
        {"dist": "triangular", "low": MAX_DAYS, "mode": MAX_DAYS, "high": MAX_DAYS},
        {"dist": "empirical", "values": [0, MAX_DAYS, MAX_DAYS]},
    ],
    ids=lambda d: "-".join(f"{v:g}" if isinstance(v, (int, float)) else str(v)
                           for v in d.values() if not isinstance(v, list)),
)
def test_distribution_parameters_at_the_bounds(tmp_path, dist):
    """Values at the bounds are accepted, and sample finitely: for every uniform in [0, 1)
    (0 and the smallest subnormal included) the inverse CDF is finite, >= 0 and never
    decreasing (common random numbers), with no overflow or invalid-value warning; the mean
    and variance are finite."""
    sc = load(tmp_path, BASE).with_values({"levels.school.work": dist})
    d = sc.levels[1].work
    assert d.family == dist["dist"]
    u = np.sort(U_EDGES)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        y = d.ppf(u)
    assert np.all(np.isfinite(y)) and np.all(y >= 0)
    assert np.all(np.diff(y) >= 0)
    assert math.isfinite(d.mean) and math.isfinite(d.var)
    assert np.all(np.isfinite(d.sample(np.random.default_rng(0), 10_000)))


def test_bare_number_is_fixed(tmp_path):
    """`work = 4` is the same scenario as `work = { dist = "fixed", value = 4 }`."""
    a = load(tmp_path, patch(W, "work = 4"))
    b = load(tmp_path, patch(W, 'work = { dist = "fixed", value = 4.0 }'))
    assert a.hash == b.hash
    assert a.get("levels.school.work.dist") == "fixed"
    assert a.get("levels.school.work.value") == 4.0


@pytest.mark.parametrize("fam", ['["gamma"]', "{ x = 1 }"])
def test_unhashable_distribution_family(tmp_path, fam):
    """`dist = [...]` is a scenario problem at ...work.dist, not a TypeError."""
    p = only_problem(tmp_path, patch(W, f"work = {{ dist = {fam}, mean = 5 }}"))
    assert p.path == "levels.school.work.dist"


def test_non_string_family(tmp_path):
    """`dist = 5` is an unknown distribution."""
    p = only_problem(tmp_path, patch(W, "work = { dist = 5, mean = 5 }"))
    assert p.path == "levels.school.work.dist" and "unknown distribution '5'" in p.message


# --------------------------------------------------------------------------- windows

Z = "fumble = 0.1"


@pytest.mark.parametrize(
    ("window", "path", "fragment"),
    [
        ("{ period = 180, open = 30, close = 30 }", "zones.school.window",
         "needs 0 <= open < close <= period"),
        ("{ period = 180, open = 40, close = 30 }", "zones.school.window",
         "needs 0 <= open < close <= period"),
        ("{ period = 180, open = 0, close = 200 }", "zones.school.window",
         "needs 0 <= open < close <= period"),
        ("{ period = 180, open = -1, close = 20 }", "zones.school.window.open", "must be >= 0"),
        ("{ period = 0, open = 0, close = 20 }", "zones.school.window.period", "must be > 0"),
        ("{ open = 0, close = 20 }", "zones.school.window.period", "is required"),
        ("{ period = 180, close = 20 }", "zones.school.window.open", "is required"),
        ("{ period = 180, open = 0 }", "zones.school.window.close", "is required"),
        ("30", "zones.school.window", "must be a table"),
        ('{ period = 180, open = 0, close = "x" }', "zones.school.window.close",
         "must be a number"),
    ],
)
def test_bad_window(tmp_path, window, path, fragment):
    p = only_problem(tmp_path, patch(Z, f"{Z}\nwindow = {window}"))
    assert p.path == path
    assert fragment in p.message


def test_good_window(tmp_path):
    """A window with close == period is valid and reachable by dotted path."""
    sc = load(tmp_path, patch(Z, f"{Z}\nwindow = {{ period = 180, open = 0, close = 180 }}"))
    assert sc.zones[1].window.close == 180
    assert sc.get("zones.school.window.period") == 180.0


# --------------------------------------------------------------------------- structure


def test_zone_into_unknown_level(tmp_path):
    """A zone into a level that does not exist names the nearest level."""
    p = only_problem(tmp_path, patch('to = "school"', 'to = "schol"'))
    assert p.path == "zones.schol.to"
    assert "no level is named 'schol'; did you mean 'school'?" in p.message


def test_zone_into_unknown_level_no_suggestion(tmp_path):
    p = only_problem(tmp_path, patch('to = "school"', 'to = "zzz"'))
    assert p.path == "zones.zzz.to"
    assert "no level is named 'zzz'" in p.message and "did you mean" not in p.message


def test_zone_into_first_level(tmp_path):
    p = only_problem(tmp_path, patch('to = "school"', 'to = "district"'))
    assert p.path == "zones.district.to"
    assert "first level" in p.message


def test_zone_with_invalid_name(tmp_path):
    """A zone whose `to` is not a name is addressed by position."""
    got = problems(tmp_path, patch('to = "school"', "to = 7"))
    assert "zones[0].to" in got and "must be a string" in got["zones[0].to"]


@pytest.mark.parametrize(
    ("new", "path"),
    [
        ("[[levels]]\nname = 'school'\ncount = 2", "levels.school.name"),
        ("[[zones]]\nto = 'school'\nfumble = 0.2", "zones.school.to"),
        ("[[initiatives]]\nname = 'reading'", "initiatives.reading.name"),
    ],
)
def test_duplicate_names(tmp_path, new, path):
    """A name used twice in one array is reported at the second use."""
    got = problems(tmp_path, patch("", new))
    assert path in got and "appears more than once" in got[path]


@pytest.mark.parametrize(("old", "new"), [('name = "school"', 'name = ["school"]'),
                                          ('to = "school"', "to = { a = 1 }")])
def test_unhashable_names(tmp_path, old, new):
    """A name that is an array or table is a type problem, not a TypeError."""
    got = problems(tmp_path, patch(old, new))
    assert any("must be a string" in m for m in got.values())


def test_levels_as_single_table(tmp_path):
    """`[levels]` (a table, not [[levels]]) is reported as not an array of tables."""
    text = BASE.split("[[levels]]")[0] + "[levels]\nname = 'district'\n"
    text += "[[initiatives]]\nname = 'r'\n"
    p = only_problem(tmp_path, text)
    assert p.path == "levels" and "array of tables" in p.message


def test_reserved_name_stream(tmp_path):
    p = only_problem(tmp_path, patch('name = "reading"', 'name = "stream"'))
    assert p.path == "initiatives.stream.name" and "reserved" in p.message


@pytest.mark.parametrize(
    ("new", "fragment"),
    [
        ("deadline = 10\nlaunch = 10", "must be after launch (10), got 10"),
        ("deadline = 10\nlaunch = 20", "must be after launch (20), got 10"),
        ("deadline = 150", "must be <= scenario.horizon (100)"),
        ("deadline = 0", "must be > 0"),
    ],
)
def test_bad_deadline(tmp_path, new, fragment):
    p = only_problem(tmp_path, patch("deadline = 100", new))
    assert p.path == "initiatives.reading.deadline"
    assert fragment in p.message


def test_deadline_defaults_to_horizon(tmp_path):
    sc = load(tmp_path, patch("deadline = 100\n", ""))
    assert sc.initiatives[0].deadline == sc.horizon == 100.0


def test_launch_after_horizon_without_deadline(tmp_path):
    """A launch at or after the horizon is caught through the defaulted deadline."""
    p = only_problem(tmp_path, patch("deadline = 100", "launch = 100"))
    assert p.path == "initiatives.reading.deadline" and "after launch" in p.message


def test_first_level_count(tmp_path):
    """The first level has exactly one runner."""
    p = only_problem(tmp_path, patch('name = "district"', 'name = "district"\ncount = 4'))
    assert p.path == "levels.district.count" and "exactly one runner" in p.message
    sc = load(tmp_path, patch('name = "district"', 'name = "district"\ncount = 1'))
    assert sc.level_sizes[0] == 1


def test_absurd_tree_fails_fast(tmp_path):
    """Counts whose product exceeds MAX_CLASSROOMS are refused at once, without allocating."""
    text = patch("count = 2", "count = 100000")
    text = patch("count = 3", "count = 100000", text)
    text = patch("", "[[levels]]\nname = 'student'\ncount = 1000000", text)
    t0 = time.perf_counter()
    got = problems(tmp_path, text)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5
    assert set(got) == {"levels.classroom.count"}
    assert f"more than {MAX_CLASSROOMS:,} runners" in got["levels.classroom.count"]


def test_absurd_tree_64_bit_counts_fail_fast(tmp_path):
    """Even counts near the 64-bit limit fail fast."""
    text = patch("count = 3", f"count = {2**62}")
    t0 = time.perf_counter()
    got = problems(tmp_path, text)
    assert time.perf_counter() - t0 < 0.5
    assert "levels.school.count" in got and "refusing to allocate" in got["levels.school.count"]


def test_tree_at_the_limit_is_allowed(tmp_path):
    """Exactly MAX_CLASSROOMS runners validate (nothing is allocated by validation)."""
    text = patch("count = 3", f"count = {MAX_CLASSROOMS // 2}")
    sc = load(tmp_path, text)
    assert sc.n_classrooms == MAX_CLASSROOMS


# --------------------------------------------------------------------------- all at once


def test_many_errors_reported_at_once(tmp_path):
    """Five problems in five places: all five are reported, each at its dotted path."""
    text = patch("horizon = 100", "horizon = -1")
    text = patch("count = 3", "count = 3\ntrust = 2", text)
    text = patch("fumble = 0.1", "fumble = 0.1\nfumbel = 0.3", text)
    text = patch(W, 'work = { dist = "gama", mean = 5 }', text)
    text = patch('name = "reading"', 'name = "reading"\nclarity = "high"', text)
    e = failure(write(tmp_path, text))
    paths = [p.path for p in e.problems]
    assert sorted(paths) == sorted([
        "scenario.horizon",
        "levels.school.trust",
        "zones.school.fumbel",
        "levels.school.work.dist",
        "initiatives.reading.clarity",
    ])
    assert str(e).splitlines()[0].endswith("5 problems found")


def test_problem_path_and_message_in_report(tmp_path):
    """Each report line reads FILE: PATH: MESSAGE."""
    path = write(tmp_path, patch("fumble = 0.1", "fumble = 1"))
    e = failure(path)
    assert f"{path}: zones.school.fumble: must be >= 0 and < 1, got 1" in str(e)


# --------------------------------------------------------------------------- dotted paths


@pytest.fixture
def sc(tmp_path) -> Scenario:
    return load(tmp_path, BASE)


def test_paths_list_every_parameter(sc):
    """paths() lists every settable parameter with its normalised value, defaults included."""
    paths = sc.paths()
    assert paths["scenario.horizon"] == 100.0
    assert paths["scenario.year_length"] == 180.0
    assert paths["levels.school.count"] == 3
    assert paths["levels.school.work.dist"] == "exponential"
    assert paths["levels.school.work.mean"] == 5.0
    assert paths["levels.classroom.trust"] == 0.5
    assert paths["zones.school.fumble"] == 0.1
    assert paths["zones.school.max_attempts"] == "unlimited"
    assert "zones.school.window" not in paths  # unset optional tables are not listed
    assert sc.get("zones.school.window") is None
    assert paths["initiatives.reading.deadline"] == 100.0
    assert paths["effects.rehearsal"] == 0.5
    # names are not parameters
    assert "levels.school.name" not in paths and "zones.school.to" not in paths


def test_every_listed_path_round_trips(sc):
    """get() returns what paths() lists, and setting a path to its value changes nothing."""
    for path, value in sc.paths().items():
        assert sc.get(path) == value
        if value is not None:
            assert sc.with_values({path: value}).hash == sc.hash, path


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        ("levels.school.work.mean", 7, lambda s: s.levels[1].work.mean == 7.0),
        ("levels.school.work", {"dist": "gamma", "mean": 3, "cv": 0.5},
         lambda s: s.levels[1].work.family == "gamma"),
        ("levels.school.trust", 0.8, lambda s: s.levels[1].trust == 0.8),
        ("levels.school.count", 5, lambda s: s.n_classrooms == 10),
        ("zones.school.fumble", 0.3, lambda s: s.zones[1].fumble == 0.3),
        ("zones.school.duration.mean", 4, lambda s: s.zones[1].duration.mean == 4.0),
        ("zones.school.max_attempts", 2, lambda s: s.zones[1].max_attempts == 2),
        ("zones.school.window", {"period": 10, "open": 0, "close": 5},
         lambda s: s.zones[1].window.period == 10),
        ("initiatives.reading.clarity", 0.9, lambda s: s.initiatives[0].clarity == 0.9),
        ("effects.rehearsal", 0.3, lambda s: s.effects.rehearsal == 0.3),
        ("scenario.horizon", 200, lambda s: s.horizon == 200.0),
        ("scenario.name", "other", lambda s: s.name == "other"),
    ],
)
def test_set_get_round_trip(sc, path, value, check):
    """with_values sets a dotted path; get reads it back; the original is untouched."""
    before = sc.hash
    new = sc.with_values({path: value})
    assert check(new)
    parts = value.items() if isinstance(value, dict) else [(None, value)]
    for sub, v in parts:
        got = new.get(path if sub is None else f"{path}.{sub}")
        assert got == v or got == pytest.approx(v)
    assert new.hash != before
    assert sc.hash == before  # with_values returns a copy


def test_set_zone_of_level_without_zone_creates_it(sc):
    """zones.<level>.fumble for a level with an implicit (perfect) zone creates the zone."""
    assert sc.zones[2] is None
    assert sc.get("zones.classroom.fumble") == 0.0
    assert sc.get("zones.classroom.duration") == {"dist": "fixed", "value": 0.0}
    assert sc.get("zones.classroom.duration.value") == 0.0
    assert sc.get("zones.classroom.max_attempts") == "unlimited"
    new = sc.with_values({"zones.classroom.fumble": 0.25})
    z = new.zones[2]
    assert z is not None and z.to == "classroom" and z.fumble == 0.25
    assert z.recover == 0.0 and z.retention == 1.0 and z.duration.is_zero
    assert new.get("zones.classroom.fumble") == 0.25
    assert "zones.classroom.fumble" in new.paths()
    # several fields of the new zone at once, including a distribution parameter
    new = sc.with_values({"zones.classroom.fumble": 0.25, "zones.classroom.duration.value": 3})
    assert new.zones[2].duration.mean == 3.0


def test_set_window_subpath_of_new_zone(sc):
    """Setting one window field of a zone with no window asks for the others."""
    with pytest.raises(ScenarioError) as info:
        sc.with_values({"zones.classroom.window.period": 10})
    paths = {p.path for p in info.value.problems}
    assert paths == {"zones.classroom.window.open", "zones.classroom.window.close"}


@pytest.mark.parametrize(
    ("path", "nearest"),
    [
        ("levels.principl.trust", None),
        ("levels.school.trst", "levels.school.trust"),
        ("zones.school.fumbel", "zones.school.fumble"),
        ("zones.district.fumble", None),  # no zone leads into the first level
        ("initiatives.reding.clarity", "initiatives.reading.clarity"),
        ("effects.rehersal", "effects.rehearsal"),
        ("scenario.horizn", "scenario.horizon"),
        ("scenario", None),
        ("nothing", None),
        ("scenario.horizon.x", None),
        ("levels.school", None),
        ("levels.school.name", None),  # names are not parameters
        ("zones.school.to", None),
        ("levels.school.work.foo", None),
        ("zones.school.window.width", None),
        ("levels.school.work.mean.x.y", None),
        ("", None),
    ],
)
def test_unknown_path(sc, path, nearest):
    """A path that names nothing is a ScenarioError listing the nearest valid paths."""
    for call in (lambda: sc.get(path), lambda: sc.with_values({path: 1})):
        with pytest.raises(ScenarioError) as info:
            call()
        (p,) = info.value.problems
        assert p.path == path
        assert "names no parameter" in p.message
        assert "--list-paths" in p.message
        if nearest:
            assert "nearest valid paths:" in p.message and nearest in p.message


def test_unknown_path_lists_nearest_for_misspelled_level(sc):
    with pytest.raises(ScenarioError) as info:
        sc.get("levels.schol.trust")
    assert "levels.school.trust" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("zones.school.fumble", 1.0, "must be >= 0 and < 1"),
        ("zones.school.fumble", "low", "must be a number"),
        ("zones.school.fumble", math.nan, "finite"),
        ("levels.school.count", 2.5, "whole number"),
        ("levels.school.count", 0, ">= 1"),
        ("levels.school.trust", True, "must be a number"),
        ("levels.school.work.dist", "gama", "did you mean 'gamma'"),
        ("scenario.horizon", 50, "must be <= scenario.horizon (50)"),
        ("levels.district.count", 3, "exactly one runner"),
        ("zones.school.window", {"period": 10, "open": 5, "close": 2}, "open < close"),
    ],
)
def test_set_bad_value(sc, path, value, fragment):
    """A bad value set by path is reported like one in the file, naming the file."""
    with pytest.raises(ScenarioError) as info:
        sc.with_values({path: value})
    e = info.value
    assert any(fragment in p.message for p in e.problems), e.report()
    assert e.source == sc.source and sc.source in str(e)


def test_set_reports_bad_paths_and_bad_values_together(sc):
    """Unknown paths and bad values in one call are all reported."""
    with pytest.raises(ScenarioError) as info:
        sc.with_values({"levels.nope.trust": 0.2, "zones.school.fumble": 2,
                        "effects.lod": 1.0, "levels.school.trust": 0.7})
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["effects.lod", "levels.nope.trust", "zones.school.fumble"]


def test_load_scenario_with_overrides(tmp_path):
    """load_scenario(path, overrides) applies --set values; bad ones name the file."""
    path = write(tmp_path, BASE)
    sc = load_scenario(path, {"zones.school.fumble": 0.4, "zones.classroom.fumble": 0.1})
    assert sc.zones[1].fumble == 0.4 and sc.zones[2].fumble == 0.1
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, {"zones.school.fumbl": 0.4})
    assert str(path) in str(info.value) and "zones.school.fumble" in str(info.value)


def test_set_dist_param_of_defaulted_work(sc):
    """A level with default (instant) work can be given a distribution as a table."""
    new = sc.with_values({"levels.classroom.work": {"dist": "exponential", "mean": 9}})
    assert new.levels[2].work.mean == 9.0
    assert new.get("levels.classroom.work.mean") == 9.0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("levels.school.work", {"dist": "exponential", "mean": 5.0}),
        ("zones.school.duration", {"dist": "exponential", "mean": 2.0}),
        ("zones.school.window", {"period": 10.0, "open": 0.0, "close": 5.0}),
    ],
)
def test_get_whole_table(sc, path, expected):
    """get() of a table-valued path returns the table."""
    sc = sc.with_values({"zones.school.window": {"period": 10, "open": 0, "close": 5}})
    assert sc.get(path) == expected


def test_get_parameter_of_another_family(sc):
    """get() of a parameter the distribution does not have is a ScenarioError."""
    with pytest.raises(ScenarioError):
        sc.get("levels.school.work.median")


# --------------------------------------------------------------------------- the hash


def test_hash_ignores_comments_and_spelled_out_defaults(tmp_path):
    """Comments, layout, key order, zone order and written-out defaults do not change it."""
    a = load(tmp_path, BASE)
    spelled = """\
# the same scenario, with every default written out
[effects]
trust = 2.0
clarity = 2
rehearsal = 0.5
checkpoint = 0.6
checkpoint_time = 2
load = 1.25
tank = 1.5

[scenario]
horizon = 100.0   # days
name = "t"
description = ""
year_length = 180

[[levels]]
name = "district"
count = 1
capacity = 1
trust = 0.5
work = 0

[[levels]]
count = 3.0
name = "school"
capacity = 1
trust = 0.5
work = { mean = 5.0, dist = "exponential" }

[[levels]]
name = "classroom"
count = 2
work = { dist = "fixed", value = 0 }

[[zones]]
to = "school"
duration = { dist = "exponential", mean = 2 }
fumble = 0.1
recover = 0
rework = 0
max_attempts = "unlimited"
rehearsed = false
checkpoint = false
retention = 1
slots = "unlimited"

[[initiatives]]
name = "reading"
launch = 0
deadline = 100
clarity = 0.5
priority = 0
min_fidelity = 0
success_threshold = 0.8
"""
    b = load(tmp_path, spelled)
    assert a.hash == b.hash
    assert a == b and hash(a) == hash(b)
    assert len(a.hash) == 64 and int(a.hash, 16) >= 0


def test_hash_ignores_zone_order(tmp_path):
    """Zones are normalised into level order, whatever their order in the file."""
    school = '[[zones]]\nto = "school"\nduration = { dist = "exponential", mean = 2 }\n' \
             "fumble = 0.1\n"
    text = patch("", "[[zones]]\nto = 'classroom'\nfumble = 0.2")
    reordered = patch(school, "", text) + "\n" + school
    assert reordered.index("to = 'classroom'") < reordered.index('to = "school"')
    assert load(tmp_path, text).hash == load(tmp_path, reordered).hash


def _perturb(value):
    """Candidate different values for a parameter (the first valid one is used)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value * 0.5, value + 0.05, value - 0.05, value + 1, value + 50]
    if isinstance(value, str):
        return {"unlimited": [3], "": ["x"]}.get(value, [value + "x", "gamma"])
    return []


def test_hash_changes_with_any_value(sc):
    """Changing any single parameter (to another valid value) changes the hash."""
    unchanged = []
    for path, value in sc.paths().items():
        for candidate in _perturb(value):
            if candidate == value:
                continue
            try:
                new = sc.with_values({path: candidate})
            except ScenarioError:
                continue
            assert new.hash != sc.hash, path
            break
        else:
            unchanged.append(path)
    # the only parameters no single change can alter validly: the first level's count,
    # a family alone (its parameters would not fit), an absent window (tested below) and
    # merging a level into its parent (it then may not keep its own count, zone, ...)
    assert all(p == "levels.district.count" or p.endswith((".dist", ".window",
                                                           ".merged_with_parent"))
               for p in unchanged), unchanged


def test_hash_changes_with_family_and_window(sc):
    """A new distribution family or a window changes the hash."""
    a = sc.with_values({"levels.school.work": {"dist": "gamma", "mean": 5, "cv": 1}})
    b = sc.with_values({"zones.school.window": {"period": 10, "open": 0, "close": 10}})
    assert len({sc.hash, a.hash, b.hash}) == 3


def test_hash_changes_with_zone_added(sc):
    assert sc.with_values({"zones.classroom.fumble": 0.1}).hash != sc.hash


# --------------------------------------------------------------------------- parse_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.2", 0.2),
        ("3", 3),
        ("-4", -4),
        ("1e3", 1000.0),
        ("true", True),
        ("false", False),
        ("[1, 2.5]", [1, 2.5]),
        ('{ dist = "gamma", mean = 3, cv = 0.5 }', {"dist": "gamma", "mean": 3, "cv": 0.5}),
        ('"quoted"', "quoted"),
        ("'single'", "single"),
        ("gamma", "gamma"),
        ("unlimited", "unlimited"),
        ("", ""),
        ("hello world", "hello world"),
        ("0.2.3", "0.2.3"),
    ],
)
def test_parse_value(text, expected):
    """Command-line values are read as TOML values, else kept as strings."""
    got = parse_value(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(("text", "check"), [("nan", math.isnan), ("inf", math.isinf),
                                             ("-inf", math.isinf)])
def test_parse_value_special_floats(text, check):
    """nan and inf parse as floats (validation then refuses them)."""
    assert check(parse_value(text))


# ---------------------------------------------------------------- the clock's unit


def test_time_unit_defaults_to_days(tmp_path):
    sc = load(tmp_path, BASE)
    assert sc.time_unit == "days" and sc.time_unit_one == "day"


@pytest.mark.parametrize("unit, one", [("seconds", "second"), ("school days", "school day"),
                                       ("weeks", "week"), ("h", "h")])
def test_time_unit_is_a_label(tmp_path, unit, one):
    """A unit renames the clock in outputs and changes no number the model produces."""
    sc = load(tmp_path, patch("horizon = 100", f'horizon = 100\ntime_unit = "{unit}"'))
    assert sc.time_unit == unit and sc.time_unit_one == one
    base = load(tmp_path, BASE)
    a = relaysim.run(base, reps=30, seed=4).summary["initiatives"]
    b = relaysim.run(sc, reps=30, seed=4).summary["initiatives"]
    assert a == b


@pytest.mark.parametrize("unit", ["", "3 days", "days!", "x" * 25])
def test_bad_time_unit(tmp_path, unit):
    p = only_problem(tmp_path, patch("horizon = 100", f'horizon = 100\ntime_unit = "{unit}"'))
    assert p.path == "scenario.time_unit" and "not a unit name" in p.message
