"""Issue 16 (hardening), items 1-4 and 9-12: files, folders, stores, clear errors,
failing before the work, the sweep-folder lock, report and plot number checks."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from relaysim.cli import main
from relaysim.errors import UsageError
from relaysim.files import atomic_write, check_output_file, safe_name

ROOT = Path(__file__).resolve().parents[1]
M = str(ROOT / "scenarios" / "minimal.toml")


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# -- 1. atomic writes do not replace devices, FIFOs or symbolic links --------------------


def test_atomic_write_regular_and_new(tmp_path):
    f = tmp_path / "a.txt"
    atomic_write(f, "one")
    f.chmod(0o640)
    atomic_write(f, "two")
    assert f.read_text() == "two"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_follows_symlink(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_atomic_write_dev_null_stays_a_device():
    atomic_write("/dev/null", "nothing")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_atomic_write_fifo_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=read)
    t.start()
    atomic_write(fifo, "through the pipe")
    t.join(10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_atomic_write_refuses_folder(tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        atomic_write(tmp_path, "x")


def test_plot_save_through_symlink_and_dev_null(tmp_path, make_scenario):
    pytest.importorskip("matplotlib")
    from relaysim.present import plot as P

    fig = P.relay(make_scenario())
    real = tmp_path / "real.png"
    link = tmp_path / "fig.png"
    link.symlink_to(real)
    P.save(fig, link)
    assert link.is_symlink() and real.read_bytes()[:4] == b"\x89PNG"
    fig2 = P.relay(make_scenario())
    null = tmp_path / "null.png"
    null.symlink_to("/dev/null")
    P.save(fig2, null)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_trace_out_dev_null_cli(capsys):
    assert main(["trace", M, "--out", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# -- 4. default folder names are safe ------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "x\x00y", "bad\x1b[31mred", "", "/"])
def test_safe_name(name):
    s = safe_name(name)
    assert s and "/" not in s and "\\" not in s and ".." not in s
    assert s.isprintable() and not s.startswith(".")


def test_sweep_default_folder_stays_in_runs(tmp_path, monkeypatch, make_scenario):
    from relaysim.study.sweep import sweep

    monkeypatch.chdir(tmp_path)
    sc = make_scenario(name="../../escape/me", horizon=50)
    res = sweep(sc, [{"scenario.horizon": 50.0}], reps=2, workers=1)
    assert res.out.resolve().parent == (tmp_path / "runs").resolve()
    assert not (tmp_path.parent / "escape").exists()


# -- 9. one clear line instead of a traceback ---------------------------------------------


def _scenario_file(tmp_path: Path, name: str = "s.toml", prefix: bytes = b"",
                   sc_name: str | None = None) -> Path:
    text = Path(M).read_text(encoding="utf-8")
    if sc_name is not None:
        text = text.replace('name = "minimal"', f"name = {json.dumps(sc_name)}", 1)
    p = tmp_path / name
    p.write_bytes(prefix + text.encode("utf-8"))
    return p


@pytest.mark.parametrize("bad", ["with\x00nul", "trailing\n", "red \x1b[31mtext"])
def test_scenario_name_control_characters(tmp_path, capsys, bad):
    p = _scenario_file(tmp_path, sc_name=bad)
    assert main(["validate", str(p)]) == 2
    err = _err(capsys)
    assert "control character" in err and "\x1b" not in err and "\x00" not in err


def test_level_name_trailing_newline_is_refused(make_scenario):
    from relaysim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="not a valid name"):
        make_scenario(levels=[{"name": "district\n"}])


def test_utf8_bom_accepted(tmp_path, capsys):
    p = _scenario_file(tmp_path, prefix=b"\xef\xbb\xbf")
    assert main(["validate", str(p)]) == 0


@pytest.mark.parametrize("where", ["toml_array", "toml_table", "set", "vary"])
def test_nested_3000_levels(tmp_path, capsys, where):
    deep = "[" * 3000 + "]" * 3000
    if where == "toml_array":
        p = tmp_path / "d.toml"
        p.write_text(Path(M).read_text() + f"\nextra = {deep}\n")
        argv = ["validate", str(p)]
    elif where == "toml_table":
        p = tmp_path / "d.toml"
        p.write_text(Path(M).read_text().replace(
            "[scenario]", "[scenario]\nx = " + "{a=" * 3000 + "1" + "}" * 3000, 1))
        argv = ["validate", str(p)]
    elif where == "set":
        argv = ["validate", M, "--set", f"scenario.name={deep}"]
    else:
        argv = ["sweep", M, "--vary", f"scenario.horizon={deep}", "--out",
                str(tmp_path / "o")]
    assert main(argv) == 2
    assert "nested too deeply" in _err(capsys)


# -- 10. fail before the work -------------------------------------------------------------


def test_per_rep_to_folder_or_missing_folder(tmp_path, capsys):
    assert main(["run", M, "--reps", "2", "--per-rep", str(tmp_path)]) == 2
    assert "is a folder" in _err(capsys)
    assert main(["run", M, "--reps", "2", "--per-rep", str(tmp_path / "no" / "x.csv")]) == 2
    assert "does not exist" in _err(capsys)
    check_output_file("/dev/null", "--per-rep")  # a device that takes writes is fine
