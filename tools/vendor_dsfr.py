"""Copy the official DSFR (the State design system) from the locked npm
package into ``src/academail/config/static/dsfr/``: ``dsfr.min.css``, its
licence, and exactly the fonts and icons the stylesheet names with ``url()``
(ServeStatic's manifest storage refuses a stylesheet whose files are
missing). ``make dsfr`` runs ``npm ci`` in ``assets/dsfr`` and then this; the
copied files are committed, so a checkout runs without npm or the network.

The DSFR's JavaScript is not copied: every page works without script, and
our own small enhancements (``site.js``) open and close what needs it.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "assets" / "dsfr" / "node_modules" / "@gouvfr" / "dsfr" / "dist"
PACKAGE = DIST.parent
TARGET = ROOT / "src" / "academail" / "config" / "static" / "dsfr"
URL = re.compile(r"""url\(\s*["']?(?!data:)([^"')]+)["']?\s*\)""")


def referenced(stylesheet: str) -> list[str]:
    """The relative files a stylesheet names in ``url()``, without data: URLs."""
    return sorted({match.group(1).split("#")[0].split("?")[0] for match in URL.finditer(stylesheet)})


def main() -> int:
    css = DIST / "dsfr.min.css"
    if not css.exists():
        print(f"{css} is missing: run `make dsfr` (npm ci in assets/dsfr)", file=sys.stderr)
        return 1
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    shutil.copy2(css, TARGET / "dsfr.min.css")
    shutil.copy2(PACKAGE / "LICENSE.md", TARGET / "LICENSE.md")
    files = referenced(css.read_text(encoding="utf-8"))
    for name in files:
        source = (DIST / name).resolve()
        if DIST.resolve() not in source.parents:
            print(f"refusing {name}: outside the package", file=sys.stderr)
            return 1
        (TARGET / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, TARGET / name)
    print(f"DSFR copied into {TARGET.relative_to(ROOT)}: the stylesheet, its licence and {len(files)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
