"""Modules and functions too big to maintain (issue 20): files under simulator/ over 800 lines by
``wc -l``, and functions over 60 executable lines (docstrings, comments and blank lines not
counted; a function that is mostly a table can be listed in ``TABLES``).

Not part of the package or the test suite yet: the files being split in parallel
(workflows/calibrate.py, config/schema.py, engine.py) still exceed the limit. Once they are
split, ``tests/test_architecture.py`` can call :func:`problems` and assert it is empty.

    .venv/bin/python tools/check_module_size.py        # exit 1 and one line per problem, else 0
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 60
#: ``path::qualified.name`` of functions that are tables (data laid out as code), exempt.
TABLES: frozenset[str] = frozenset()


def _executable_lines(node: ast.AST) -> int:
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


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, prefix + node.name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")


def problems(root: Path = REPO / "simulator") -> list[str]:
    """One line per file over :data:`MAX_FILE_LINES` lines or function over :data:`MAX_FUNCTION_LINES`."""
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(REPO)
        lines = text.count("\n")
        if lines > MAX_FILE_LINES:
            out.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES})")
        for name, node in _functions(ast.parse(text)):
            n = _executable_lines(node)
            if n > MAX_FUNCTION_LINES and f"{rel}::{name}" not in TABLES:
                out.append(f"{rel}:{node.lineno}: {name} has {n} executable lines (at most {MAX_FUNCTION_LINES})")
    return out


if __name__ == "__main__":
    found = problems()
    print("\n".join(found) if found else "ok: no file over 800 lines, no function over 60 executable lines")
    sys.exit(1 if found else 0)
