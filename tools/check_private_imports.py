"""Fail when a module uses another module's private name (``_x``).

import-linter checks which modules import which, not which names; this small
checker covers the rule it cannot: ``from academail.a.b import _x`` and
``academail.a.b._x`` in any module other than ``academail.a.b`` itself. A name
that another module needs is part of its API: rename it without the
underscore, document it, and list it in ``__all__`` when the module has one.

Usage: ``python tools/check_private_imports.py [src/academail ...]``; exits 1
and prints ``path:line: message`` for each use found.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT_PACKAGE = "academail"
# Underscored by convention but public: Django model metadata.
ALLOWED = {"_meta", "_default_manager", "_base_manager"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute module of a (possibly relative) ``from ... import``."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def check_file(path: Path, root: Path) -> list[str]:
    importer = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases: dict[str, str] = {}  # local name -> academail module it stands for
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve(node.module, node.level, importer, path.name == "__init__.py")
            if not source.startswith(ROOT_PACKAGE):
                continue
            for alias in node.names:
                if is_private(alias.name) and source != importer:
                    problems.append(f"{path}:{node.lineno}: imports {source}.{alias.name}, a private name of another module")
                aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
            if any(is_private(part) for part in source.split(".")) and source != importer:
                problems.append(f"{path}:{node.lineno}: imports from {source}, a private module")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(ROOT_PACKAGE):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.asname and alias.name or ROOT_PACKAGE
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in ALLOWED:
            target = _dotted(node.value, aliases)
            if target and target.startswith(ROOT_PACKAGE) and target != importer:
                problems.append(f"{path}:{node.lineno}: uses {target}.{node.attr}, a private name of another module")
    return problems


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The academail module an expression such as ``views`` or ``academail.x.y`` names, if any."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path("src") / ROOT_PACKAGE]
    problems: list[str] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            problems.extend(check_file(path, root))
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} use(s) of another module's private names: make the name public (no underscore) or move the code.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
