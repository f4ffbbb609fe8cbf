"""Vendor JavaScript (htmx, ECharts) from the npm registry, served locally.

``package.json`` at the repository root pins the versions and ``package-lock.json`` the
exact files; ``npm ci`` (run by ``./packline test`` and ``./packline demo``) puts them in
``node_modules/``, which is not committed. The app serves only the files named in
:data:`VENDOR_FILES`, under ``/static/vendor/<name>``; nothing is fetched from the
internet at run time. Without them the pages still work (JavaScript is an enhancement),
and ``serve`` says how to install them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this package runs from (where ``package.json`` is)."""

VENDOR_FILES: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
}
"""Served name → path inside ``node_modules``."""

INSTALL_HINT = (
    f"前端资源未安装, 页面可用但没有局部刷新和图表; 请在 {REPO_ROOT} 运行 `npm ci` (或 ./packline test) / "
    f"web assets missing: pages work without partial updates and charts; run `npm ci` in {REPO_ROOT} "
    "(or ./packline test)"
)


@dataclass(frozen=True, slots=True)
class VendorAssets:
    """Where the vendor files are, and which of them exist."""

    root: Path

    def path(self, name: str) -> Path | None:
        """The file for served ``name``, or ``None`` (unknown name or not installed)."""
        relative = VENDOR_FILES.get(name)
        if relative is None:
            return None
        path = self.root / relative
        return path if path.is_file() else None

    def missing(self) -> list[str]:
        """Served names whose files are not installed."""
        return [name for name in VENDOR_FILES if self.path(name) is None]


def vendor_assets(vendor_dir: Path | None) -> VendorAssets:
    """The assets in ``vendor_dir`` (default: ``node_modules`` at the repository root)."""
    return VendorAssets(vendor_dir if vendor_dir is not None else REPO_ROOT / "node_modules")
