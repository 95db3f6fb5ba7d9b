"""The HTML page of a report: style, figures embedded as PNG, tables, cards."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..plot import fmt_lag, fmt_value

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d2733;
  background:#f4f6f8;margin:0;line-height:1.45}
main{max-width:1120px;margin:0 auto;padding:28px 32px 60px;background:#fff;
  box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.25em;margin:34px 0 8px;padding-bottom:4px;border-bottom:2px solid #e3e8ee}
.sub{color:#5b6b7c;margin:0 0 18px;font-size:.92em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:12px;
  margin:18px 0}
.card{background:#f0f4f9;border-radius:8px;padding:10px 14px}
.card .v{font-size:1.55em;font-weight:600;color:#0b4f8a}
.card .k{font-size:.8em;color:#5b6b7c;letter-spacing:.03em}
.card .n{font-size:.78em;color:#5b6b7c}
figure{margin:12px 0}
figure img{max-width:100%;height:auto;border:1px solid #e3e8ee;border-radius:4px}
figcaption{font-size:.88em;color:#3d4b5a;margin-top:4px}
table{border-collapse:collapse;font-size:.86em;margin:10px 0}
th,td{padding:4px 10px;border-bottom:1px solid #e3e8ee;text-align:right}
th{background:#f0f4f9}
td:first-child,th:first-child{text-align:left}
.note{background:#fff8e6;border-left:4px solid #f0b429;padding:8px 12px;font-size:.9em}
.alert{background:#fdecea;border-left:6px solid #c62828;padding:10px 14px;font-size:1em}
.alert strong{color:#8e1b1b}
.warnings{background:#fff8e6;border-left:4px solid #f0b429;padding:6px 12px;font-size:.88em}
.warnings li{margin:3px 0}
.methods{font-size:.93em;color:#26323e}
code{background:#f0f4f9;padding:1px 4px;border-radius:3px;font-size:.9em}
footer{margin-top:40px;font-size:.8em;color:#7b8a99}
"""


@dataclass
class _Doc:
    """The report being assembled: HTML blocks, files written, key numbers."""

    out: Path
    dpi: int
    blocks: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def h2(self, text: str, anchor: str) -> None:
        self.blocks.append(f'<h2 id="{anchor}">{html.escape(text)}</h2>')

    def p(self, text_html: str, cls: str | None = None) -> None:
        attr = f' class="{cls}"' if cls else ""
        self.blocks.append(f"<p{attr}>{text_html}</p>")

    def note(self, text_html: str) -> None:
        self.p(text_html, "note")

    def figure(self, fig: Any, name: str, caption: str) -> None:
        """Embed a figure as a base64 PNG (and write it to ``figures/<name>.png``).

        The image records its smallest text (points) and resolution, so that what a reader
        sees at the report's width can be checked (``data-min-font-pt``, ``data-dpi``).
        """
        import matplotlib.pyplot as plt
        from matplotlib.text import Text

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, bbox_inches="tight", facecolor="white")
        sizes = [
            t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
        ]
        plt.close(fig)
        data = buf.getvalue()
        path = self.out / "figures" / f"{name}.png"
        path.write_bytes(data)
        self.files.append(f"figures/{name}.png")
        b64 = base64.b64encode(data).decode("ascii")
        smallest = f"{min(sizes):g}" if sizes else ""
        self.blocks.append(
            f'<figure><img alt="{html.escape(caption)}" data-min-font-pt="{smallest}" '
            f'data-dpi="{self.dpi}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def table(self, df: pd.DataFrame, name: str | None, *, index: bool = True, digits: int = 3):
        """Show a table, numbers with ``digits`` significant digits (and write it to
        ``tables/<name>.csv`` when named, at full precision)."""
        if name is not None:
            self.csv(df, name, index=index)
        shown = df.copy()
        for c in shown.columns:
            if pd.api.types.is_float_dtype(shown[c]):
                shown[c] = [
                    "" if not np.isfinite(v) else fmt_value(v, digits) for v in shown[c].to_numpy()
                ]
            elif shown[c].dtype == object:  # a missing label (e.g. no condition) shows blank
                shown[c] = ["" if v is None else v for v in shown[c]]
        self.blocks.append(shown.to_html(index=index, border=0, escape=True, na_rep=""))

    def csv(self, df: pd.DataFrame, name: str, *, index: bool = True) -> None:
        """Write a table without showing it."""
        df.to_csv(self.out / "tables" / f"{name}.csv", index=index)
        self.files.append(f"tables/{name}.csv")


def _e(x: Any) -> str:
    return html.escape(str(x))


def _card(key: str, value: str, note: str = "") -> str:
    n = f'<div class="n">{_e(note)}</div>' if note else ""
    return (
        f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>{n}</div>'
    )


def _param_text(v: Any) -> str:
    if isinstance(v, np.ndarray | range):
        v = list(np.asarray(v).tolist())
    return repr(v)


def _lag_text(lags: np.ndarray, rate: float | None) -> str:
    lo, hi = int(lags.min()), int(lags.max())
    text = f"{lo}..{hi} samples"
    if rate:
        text += f" ({fmt_lag(1000 * lo / rate)} to {fmt_lag(1000 * hi / rate)} ms)"
    return text
