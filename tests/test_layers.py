"""The house stays as built: imports run down the layers, never up, and never in a circle;
functions stay short enough to read.

Layers, from the bottom: base (errors, _version, files, machine) -> model -> engines -> study ->
present -> app (the explorer) -> cli (and the package's own __init__/__main__, which may
import anything).
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "relaysim"

LAYERS = {"base": 0, "model": 1, "engines": 2, "study": 3, "present": 4, "app": 5, "cli": 6,
          "top": 7}


def layer_of(module: str) -> str:
    """The layer of a module given as a dotted name inside the package ('model.plan')."""
    head = module.split(".")[0]
    if head in ("errors", "_version", "files", "machine"):
        return "base"
    if head in ("model", "engines", "study", "present", "app", "cli"):
        return head
    if head in ("__init__", "__main__", ""):
        return "top"
    raise AssertionError(f"module {module!r} belongs to no layer: add it to LAYERS")


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, int]]:
    """Package-internal modules imported anywhere in the file (also inside functions)."""
    tree = ast.parse(path.read_text())
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and getattr(node.test, "id", "") == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: nothing is imported at run time
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [a.name for a in node.names]
                if not node.module:  # from . import x: x is a module of that package
                    found += [(".".join([*target, n]), node.lineno) for n in names]
                else:
                    found.append((".".join(target), node.lineno))
            elif node.module and node.module.startswith("relaysim"):
                found.append((node.module.removeprefix("relaysim").lstrip("."), node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("relaysim."):
                    found.append((a.name.removeprefix("relaysim."), node.lineno))
    return found


FILES = sorted(p for p in PKG.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    for f in FILES:
        layer_of(module_name(f))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_run_down_the_layers(path: Path) -> None:
    """A module imports only its own layer or the layers below it."""
    mine = layer_of(module_name(path))
    for target, line in imports(path):
        theirs = layer_of(target or "__init__")
        assert LAYERS[theirs] <= LAYERS[mine], (
            f"{path.relative_to(PKG)}:{line} imports {target} ({theirs}) from the {mine} layer")


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    names = {module_name(f) for f in FILES}
    for f in FILES:
        me = module_name(f)
        graph[me] = {t for t, _ in imports(f) if t in names and t != me}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for n in sorted(graph):
        if n not in state and n not in ("", "__init__"):
            visit(n, [n])


#: functions allowed past 60 lines, each with the reason splitting it would hurt
LONG_OK: dict[str, str] = {}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_functions_are_short(path: Path) -> None:
    """No function over 60 lines unless LONG_OK (or a comment at its top) says why."""
    source = path.read_text().splitlines()
    for node in ast.walk(ast.parse("\n".join(source))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = node.end_lineno - node.lineno + 1
            body_top = "\n".join(source[node.lineno - 1: node.lineno + 8])
            if n > 60 and node.name not in LONG_OK and "long on purpose:" not in body_top:
                raise AssertionError(f"{path.relative_to(PKG)}:{node.lineno} {node.name} is "
                                     f"{n} lines: split it, or say why not")


def test_the_command_line_starts_light() -> None:
    """`relaysim validate` and `relaysim --help` import neither scipy.stats, matplotlib,
    dask nor numba (their start-up stays well under half a second)."""
    import subprocess
    import sys

    code = ("import sys; from relaysim.cli import main; "
            "main(['validate', 'scenarios/minimal.toml']); "
            "heavy = [m for m in ('scipy.stats', 'matplotlib', 'dask', 'numba', 'simpy') "
            "if m in sys.modules]; print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PKG.parent, check=True).stdout
    assert "HEAVY []" in out, out
