"""What twin imports at module level is installed by ``pip install .`` (``make demo``),
not only by the test extra: every third-party package a module of twin imports at its
top is a runtime requirement in pyproject.toml or a requirement of one (found through
the installed distributions' metadata, extras left out). A module that imports a
package only inside a function (boto3 for an s3:// tile cache) names an optional extra.

Caught: twin/cli/styles.py imported httpx, which only the test extra installed, so
`make demo` on a fresh clone stopped at `twin demo` with ModuleNotFoundError."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level_imports(path: Path) -> set[str]:
    """Packages imported at the top of a module (not inside functions or classes)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def runtime_closure(requirements: list[str]) -> set[str]:
    """The distributions the runtime requirements install, transitively, without
    extras' requirements (a requirement of an extra is not installed by a plain
    install)."""
    seen: set[str] = set()
    todo = [_NAME.match(r).group(0) for r in requirements]
    extras_wanted = {canonical(_NAME.match(r).group(0)): re.findall(r"\[([^\]]+)\]", r)
                     for r in requirements}
    while todo:
        name = canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        wanted = {e.strip() for group in extras_wanted.get(name, []) for e in group.split(",")}
        for req in requires:
            marker = req.split(";", 1)[1] if ";" in req else ""
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if extra and extra.group(1) not in wanted:
                continue
            todo.append(_NAME.match(req).group(0))
    return seen


def test_every_top_level_import_is_a_runtime_requirement():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = runtime_closure(project["dependencies"])
    providers = metadata.packages_distributions()
    missing = {}
    for path in sorted((ROOT / "twin").rglob("*.py")):
        for name in top_level_imports(path):
            if name in sys.stdlib_module_names or name in ("twin", "__future__"):
                continue
            dists = {canonical(d) for d in providers.get(name, [])}
            if not dists & installed:
                missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported at module level but not installed by `pip install .`: {missing}"
