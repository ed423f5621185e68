"""Issue 16 (hardening), items 1-4 and 9-12: files, folders, stores, clear errors,
failing before the work, the sweep-folder lock, report and plot number checks."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from relaysim.cli import main
from relaysim.errors import UsageError
from relaysim.files import FolderLock, atomic_write, check_output_file, safe_name

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


def test_atomic_write_through_a_pipe_descriptor():
    # /dev/stdout of a command in a pipeline: /proc/self/fd/1 names a pipe, which no path
    # reaches once the link is resolved ("pipe:[1234]"); the write goes through the link
    r, w = os.pipe()
    try:
        atomic_write(f"/dev/fd/{w}", "into the pipe")
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b"into the pipe"


def test_atomic_write_appends_to_a_descriptor_file(tmp_path):
    # `relaysim ... --out /dev/stdout >> log`: the log keeps its lines and its inode
    log = tmp_path / "log.txt"
    with open(log, "ab") as f:
        f.write(b"first\n")
        f.flush()
        inode = os.fstat(f.fileno()).st_ino
        atomic_write(f"/proc/self/fd/{f.fileno()}", "second\n")
        check_output_file(f"/proc/self/fd/{f.fileno()}", "--out")
    assert log.read_text() == "first\nsecond\n"
    assert log.stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"]


def test_trace_out_dev_stdout_into_a_pipe():
    import subprocess
    import sys

    from _cli import sub_env

    got = subprocess.run([sys.executable, "-m", "relaysim", "trace", M, "--out", "/dev/stdout"],
                         env=sub_env(), capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert "told event by event" in got.stdout and "Traceback" not in got.stderr


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


def _sweep(out: Path, *extra: str) -> list[str]:
    return ["sweep", M, "--vary", "zones.principal.fumble=0.1,0.3", "--reps", "4",
            "--workers", "1", "--quiet", "--out", str(out), *extra]


def test_resume_on_missing_store_fails_first(tmp_path, capsys):
    out = tmp_path / "typo"
    assert main(_sweep(out, "--resume")) == 2
    assert "nothing to resume" in _err(capsys)
    assert not out.exists()


def test_sensitivity_unknown_initiative_fails_first(tmp_path, capsys):
    out = tmp_path / "sens"
    rc = main(["sensitivity", M, "--vary", "zones.principal.fumble=0.1:0.3:2", "--samples", "2",
               "--reps", "2", "--initiative", "nope", "--out", str(out), "--quiet"])
    assert rc == 2 and "no such initiative" in _err(capsys)
    assert not out.exists()


def test_workers_ceiling(tmp_path, capsys):
    n = 4 * (os.cpu_count() or 1) + 1
    assert main(["run", M, "--reps", "2", "--workers", str(n)]) == 2
    assert "--force" in _err(capsys)


def test_set_on_a_varied_path(tmp_path, capsys):
    rc = main(_sweep(tmp_path / "o", "--set", "zones.principal.fumble=0.2"))
    assert rc == 2 and "both --set and varied" in _err(capsys)


def test_samples_with_grid(tmp_path, capsys):
    assert main(_sweep(tmp_path / "o", "--samples", "8")) == 2
    assert "--samples is for lhs and sobol" in _err(capsys)


# -- 2. report and plot never show another sweep's numbers --------------------------------


def test_moved_folder_keeps_its_own_store(tmp_path, capsys, monkeypatch):
    from relaysim.present.results import open_results

    monkeypatch.chdir(tmp_path)
    assert main(_sweep(Path("runs_demo/x"))) == 0
    m = json.loads(Path("runs_demo/x/manifest.json").read_text())
    assert m["store"] == "store.sqlite" and m["sweep_id"]
    Path("archive").mkdir()
    Path("runs_demo/x").rename("archive/x")
    other = ["sweep", M, "--vary", "zones.principal.fumble=0.5,0.6", "--reps", "6",
             "--workers", "1", "--quiet", "--out", "runs_demo/x"]
    assert main(other) == 0
    res = open_results("archive/x")
    assert res.store_path.resolve() == (tmp_path / "archive/x/store.sqlite").resolve()
    assert {r["reps"] for r in res.rows} == {4}
    assert main(["report", "archive/x", "-o", "r.html"]) == 0


def test_store_of_another_sweep_is_refused(tmp_path, capsys):
    from relaysim.present.results import open_results

    a, b = tmp_path / "a", tmp_path / "b"
    assert main(_sweep(a)) == 0
    assert main(_sweep(b, "--seed", "1")) == 0
    (a / "store.sqlite").unlink()
    (b / "store.sqlite").rename(a / "store.sqlite")
    with pytest.raises(UsageError, match="not the store of the sweep"):
        open_results(a)
    assert main(["report", str(a), "-o", str(tmp_path / "r.html")]) == 2
    assert "not the store" in _err(capsys)
    assert not (tmp_path / "r.html").exists()


# -- 3. --out does not overwrite files it does not own ------------------------------------


def test_out_into_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.csv").write_text("precious\n")
    assert main(_sweep(out)) == 2
    assert "results.csv is in the way" in _err(capsys)
    assert (out / "results.csv").read_text() == "precious\n"
    assert main(_sweep(out, "--force")) == 0
    assert (out / "manifest.json").exists()


def test_out_with_another_store_does_not_overwrite(tmp_path, capsys):
    a = tmp_path / "A"
    assert main(_sweep(a)) == 0
    before = {f: (a / f).read_bytes() for f in ("results.csv", "manifest.json")}
    assert main(_sweep(a, "--store", str(tmp_path / "other.sqlite"))) == 2
    assert "is in the way" in _err(capsys)
    assert {f: (a / f).read_bytes() for f in before} == before


def test_resume_into_own_folder_is_allowed(tmp_path, capsys):
    a = tmp_path / "A"
    assert main(_sweep(a)) == 0
    assert main(_sweep(a, "--resume")) == 0


def test_sensitivity_out_into_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc = main(["sensitivity", M, "--vary", "zones.principal.fumble=0.1:0.3:2", "--samples",
               "2", "--reps", "2", "--workers", "1", "--out", str(out), "--quiet"])
    assert rc == 2 and "notes.txt is in the way" in _err(capsys)


# -- 11. a lock on the sweep folder --------------------------------------------------------


def test_second_sweep_into_a_locked_folder_is_refused(tmp_path, capsys):
    import subprocess
    import sys

    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from relaysim.files import FolderLock\n"
         f"with FolderLock({str(out)!r}):\n    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(_sweep(out)) == 2
        err = _err(capsys)
        assert f"pid {holder.pid}" in err and "another relaysim" in err
    finally:
        holder.kill()
        holder.wait()
    assert main(_sweep(out)) == 0  # the lock dies with its process


def test_folder_lock_in_process(tmp_path):
    with FolderLock(tmp_path), pytest.raises(UsageError, match=f"pid {os.getpid()}"):
        with FolderLock(tmp_path):
            pass
    with FolderLock(tmp_path):
        pass


# -- 9. SQLite errors, hand-edited files: one line, exit 2 ---------------------------------


@pytest.mark.parametrize("message, words", [
    ("database or disk is full", "disk is full"),
    ("attempt to write a readonly database", "read-only"),
    ("database is locked", "locked by another process"),
    ("database disk image is malformed", "corrupt store"),
])
def test_sqlite_errors_are_one_line(tmp_path, capsys, monkeypatch, message, words):
    from relaysim.study.store import Store

    monkeypatch.setattr(Store, "put", lambda self, *a: _raise_in_guard(self, message))
    assert main(_sweep(tmp_path / "o")) == 2
    err = _err(capsys)
    assert words in err and err.count("\n") == 1


def _raise_in_guard(store, message):
    import sqlite3

    with store._guard():
        raise sqlite3.OperationalError(message)


def test_locked_store_names_the_holder(tmp_path):
    import sqlite3

    from relaysim.study.store import Store, StoreError

    out = tmp_path / "o"
    out.mkdir()
    (out / ".relaysim.lock").write_text("4242\n")
    with Store(out / "store.sqlite") as st, pytest.raises(StoreError, match="pid 4242"):
        with st._guard():
            raise sqlite3.OperationalError("database is locked")


def test_locked_store_names_the_other_process_not_itself(tmp_path, monkeypatch):
    # another program holds the store; this sweep's own lock file (its own pid) beside it
    # must not be named as the holder
    import subprocess
    import sys

    import relaysim.study.store as S

    monkeypatch.setattr(S, "BUSY_SECONDS", 0.2)
    out = tmp_path / "o"
    out.mkdir()
    (out / ".relaysim.lock").write_text(f"{os.getpid()}\n")
    db = out / "store.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, time; "
         f"db = sqlite3.connect({str(db)!r}, isolation_level=None); "
         "db.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(S.StoreError) as e:
            S.Store(db)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    msg = str(e.value)
    assert "locked by another process" in msg
    assert f"pid {holder.pid}" in msg and f"pid {os.getpid()}" not in msg


def test_read_only_out_folder(tmp_path, capsys, monkeypatch):
    import relaysim.study.sweep as S

    out = tmp_path / "ro"
    out.mkdir()
    real = os.access
    monkeypatch.setattr(S.os, "access", lambda p, m: False if Path(p) == out else real(p, m))
    assert main(_sweep(out)) == 2
    assert "is not writable" in _err(capsys)


def _finished(tmp_path: Path) -> Path:
    out = tmp_path / "done"
    assert main(_sweep(out)) == 0
    return out


@contextlib.contextmanager
def _read_only_folder(folder: Path):
    """`folder` read-only for this process: its mode (a user) or a read-only tmpfs
    mounted over a copy of it (root ignores modes); skipped where neither can be done."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    import shutil
    import subprocess

    mnt = folder.with_name(folder.name + "-ro")
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only folder here (root, and no mount)")
    try:
        for f in folder.iterdir():
            shutil.copy2(f, mnt / f.name)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        yield mnt
    finally:
        # lazily: a failed check may leave the store open (its traceback holds it)
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_report_and_plot_read_a_sweep_in_a_read_only_folder(tmp_path, capsys):
    # a colleague's finished sweep, an archive: readable though this user cannot write
    # there (a WAL store's reader cannot create its -shm file)
    pytest.importorskip("matplotlib")
    out = _finished(tmp_path)
    capsys.readouterr()
    with _read_only_folder(out) as ro:
        assert main(["report", str(ro), "-o", str(tmp_path / "r.html")]) == 0, _err(capsys)
        assert main(["plot", str(ro), "--kind", "survival", "-o", str(tmp_path / "s.png")]) == 0
        assert main(["sweep", M, "--vary", "zones.principal.fumble=0.1,0.3", "--reps", "4",
                     "--workers", "1", "--quiet", "--out", str(ro), "--resume"]) == 2
        assert "not writable" in _err(capsys)
    html = (tmp_path / "r.html").read_text().replace(ro.name, out.name)
    assert main(["report", str(out), "-o", str(tmp_path / "w.html")]) == 0
    assert html == (tmp_path / "w.html").read_text()  # the same numbers as from the folder


def _cell(text: str, row: int, col: int, value: str | None) -> str:
    """results.csv text with one cell replaced (or, with None, the row cut after it)."""
    lines = text.splitlines()
    cells = lines[row].split(",")
    lines[row] = ",".join(cells[:col] if value is None else
                          [*cells[:col], value, *cells[col + 1:]])
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("edit, words", [
    (lambda t: _cell(t, 1, 1, "lots"), "is not a number"),
    (lambda t: _cell(t, 1, 3, None), "expected"),
    (lambda t: _cell(t, 2, 6, "many"), "reps"),  # 7 columns: reps is the last
])
def test_hand_edited_results_csv(tmp_path, capsys, edit, words):
    out = _finished(tmp_path)
    csv_file = out / "results.csv"
    csv_file.write_text(edit(csv_file.read_text()))
    assert main(["report", str(csv_file), "-o", str(tmp_path / "r.html")]) == 2
    assert words in _err(capsys)


@pytest.mark.parametrize("text, words", [("{not json", "not valid JSON"),
                                         ("[1, 2]", "expected a JSON object")])
def test_broken_manifest(tmp_path, capsys, text, words):
    out = _finished(tmp_path)
    (out / "manifest.json").write_text(text)
    assert main(["report", str(out), "-o", str(tmp_path / "r.html")]) == 2
    assert words in _err(capsys)


def test_design_csv_not_utf8_or_duplicate_column(tmp_path, capsys):
    bad = tmp_path / "d.csv"
    bad.write_bytes("zones.principal.fumble\n0.1\n\xe9\n".encode("latin-1"))
    argv = ["sweep", M, "--design", str(bad), "--reps", "2", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "UTF-8" in _err(capsys)
    bad.write_text("zones.principal.fumble,zones.principal.fumble\n0.1,0.2\n")
    assert main(argv) == 2
    assert "more than once" in _err(capsys)


# -- 12. report and plot check their numbers ----------------------------------------------


def test_rate_text():
    from relaysim.present.results import rate_text

    assert rate_text(0.25) == "25%"
    assert rate_text(None) == rate_text(float("nan")) == "n/a"
    assert "%" not in rate_text(5.0) and "not a rate" in rate_text(5.0)


def test_rate_outside_0_1_is_a_message(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from relaysim.present import plot as P

    out = _finished(tmp_path)
    csv_file = out / "results.csv"
    csv_file.write_text(_cell(csv_file.read_text(), 1, 1, "5"))
    assert main(["report", str(csv_file), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "500%" not in html and "not a rate" in html
    fig = P.curve(csv_file)
    assert any("outside [0, 1] not drawn" in t.get_text() for t in fig.texts)


def _results(rows, params=("a", "b")):
    from relaysim.present.results import Results

    return Results(Path("x"), list(params), rows, None, None, None, {"seed": 0})


def _row(j, values, rate, lo=None, hi=None):
    return {"point": j, "values": values, "reps": 10,
            "initiatives": {"i": {"completion_rate": rate, "ci_low": lo, "ci_high": hi}}}


def test_nothing_observed_is_a_message(tmp_path):
    pytest.importorskip("matplotlib")
    from relaysim.present import plot as P
    from relaysim.present.report import _headline_section

    res = _results([_row(0, {"a": 0.1, "b": 1}, None), _row(1, {"a": 0.2, "b": 1}, None)])
    for kind in ("curve", "heatmap"):
        with pytest.raises(UsageError, match="never observed"):
            P.plot(res, kind)
    html = _headline_section(res)
    assert "not observed" in html and "nan" not in html.lower()
    res = _results([_row(0, {"a": 0.1, "b": 1}, 0.5, float("nan"), float("nan"))])
    html = _headline_section(res)
    assert "50%" in html and "nan%" not in html and "n/a" in html


def test_big_heatmap_stays_readable():
    pytest.importorskip("matplotlib")
    from relaysim.present import plot as P

    rows = [_row(j, {"a": i / 40, "b": k / 30}, 0.5, 0.4, 0.6)
            for j, (i, k) in enumerate((i, k) for i in range(40) for k in range(30))]
    fig = P.heatmap(_results(rows))
    ax = fig.axes[0]
    assert len(ax.get_xticklabels()) <= P.HEATMAP_TICKS_MAX
    assert len(ax.get_yticklabels()) <= P.HEATMAP_TICKS_MAX
    assert not ax.texts  # no cell numbers past HEATMAP_NUMBERS_MAX cells
    small = [_row(j, {"a": i, "b": k}, 0.5) for j, (i, k) in
             enumerate((i, k) for i in range(3) for k in range(3))]
    assert len(P.heatmap(_results(small)).axes[0].texts) == 9


def test_dollar_signs_are_not_mathtext(tmp_path, make_scenario):
    pytest.importorskip("matplotlib")
    import matplotlib.text

    from relaysim.present import plot as P

    fig = P.relay(make_scenario(name="Budget $5 vs $10 \\\\frac{"))
    texts = fig.findobj(matplotlib.text.Text)
    assert any("$5 vs $10" in t.get_text() for t in texts)
    assert not any(t.get_parse_math() for t in texts)
    P.save(fig, tmp_path / "r.png")  # "\\frac{" as mathtext would fail to draw
