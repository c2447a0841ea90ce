"""Modules and functions small enough to maintain (issue 20).

No file under ``simulator/`` is over :data:`MAX_FILE_LINES` lines by ``wc -l``, and no function
has more than :data:`MAX_FUNCTION_LINES` executable lines (docstring, comments and blank lines
not counted) unless it is a table listed in :data:`TABLES`.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 60
#: ``path::qualified.name`` of functions that are tables (data laid out as code), exempt.
TABLES: frozenset[str] = frozenset()


def executable_lines(node: ast.AST) -> int:
    """Lines of ``node``'s body holding statements, its docstring left out."""
    body = list(getattr(node, "body", []))
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    lines: set[int] = set()
    for stmt in body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.stmt) and not (isinstance(sub, ast.Expr) and isinstance(sub.value, ast.Constant)):
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return len(lines)


def functions(tree: ast.AST, prefix: str = ""):
    """``(qualified name, node)`` of every function and method in ``tree``, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from functions(node, prefix + node.name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, prefix + node.name + ".")


def problems(root: Path) -> list[str]:
    """One line per file over :data:`MAX_FILE_LINES` lines or function over :data:`MAX_FUNCTION_LINES`."""
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root.parent)
        lines = text.count("\n")
        if lines > MAX_FILE_LINES:
            out.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES})")
        for name, node in functions(ast.parse(text)):
            n = executable_lines(node)
            if n > MAX_FUNCTION_LINES and f"{rel}::{name}" not in TABLES:
                out.append(f"{rel}:{node.lineno}: {name} has {n} executable lines (at most {MAX_FUNCTION_LINES})")
    return out


def test_no_module_or_function_too_big():
    found = problems(REPO / "simulator")
    assert not found, "\n".join(found)


def test_the_check_finds_a_long_file_and_a_long_function(tmp_path):
    pkg = tmp_path / "simulator"
    pkg.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES + 1))
    (pkg / "long_function.py").write_text('def f():\n    """Doc."""\n' + body)
    (pkg / "short_function.py").write_text('def g():\n    """Doc."""\n' + body.split("\n", 1)[1])
    (pkg / "long_file.py").write_text("# comment\n" * (MAX_FILE_LINES + 1))
    assert problems(pkg) == ["simulator/long_file.py: 801 lines (at most 800)",
                             "simulator/long_function.py:1: f has 61 executable lines (at most 60)"]


#: Most lines of a SimPy actor, its ``def`` line and docstring included (issue 19).
MAX_ACTOR_LINES = 40


def test_simpy_actors_are_short_loops():
    """Every SimPy actor of ``engine._Simulation`` (a method that yields the environment's
    timeouts, or a daily actor's bare ``yield``: one turn a day of the ``daily`` process) is at most
    :data:`MAX_ACTOR_LINES` lines: the formulas live in the domain modules it calls. The check finds
    the actors by their yields, so a new actor is checked too."""
    tree = ast.parse((REPO / "simulator" / "engine.py").read_text(encoding="utf-8"))
    sim = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_Simulation")
    actors = {n.name: n.end_lineno - n.lineno + 1 for n in sim.body if isinstance(n, ast.FunctionDef)
              and any(isinstance(y, ast.Yield) and ("timeout" in ast.unparse(y) or y.value is None)
                      for y in ast.walk(n))}
    assert len(actors) >= 15, sorted(actors)  # fleet, life_cycle, market, network, site, …, company, close are found
    assert {"company", "debt", "hedges", "close", "reporting", "daily"} <= set(actors), sorted(actors)
    too_long = {name: lines for name, lines in actors.items() if lines > MAX_ACTOR_LINES}
    assert not too_long, f"SimPy actors over {MAX_ACTOR_LINES} lines: {too_long}"
