"""The report's map: a choropleth of the municipalities as inline SVG, in pure Python.

Polygons (WGS84 lon/lat, ``pipeline.inputs.maps``) are projected to UTM zone 33
(EUREF89 / WGS84 ellipsoid, central meridian 15° E, scale 0.9996: the
projection Norway's own maps use) with the series of Snyder, *Map Projections:
A Working Manual* (USGS 1987), pp. 60-64, scaled into a viewBox 1,000 px wide,
rounded to 0.1 px and written as relative path commands (``fill-rule:
evenodd`` for holes).  Each municipality's path carries ``data-kommunenummer``,
``data-value`` and a ``<title>`` tooltip; county borders are drawn on top.
About 400 KB and a fifth of a second for the 356 municipalities.
"""
from __future__ import annotations

import functools
import html
from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.inputs.maps import Shape

# GRS80/WGS84 ellipsoid and UTM zone 33 (EPSG:25833).
A, F, K0, LON0 = 6378137.0, 1 / 298.257223563, 0.9996, np.radians(15.0)
E2 = F * (2 - F)
EP2 = E2 / (1 - E2)
FALSE_EASTING = 500000.0
WIDTH = 1000  # viewBox width in px
MARGIN = 5  # px around the municipalities' extent
PALETTE = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # light to dark, one per class (ColorBrewer Blues)
NOT_ASKED = "#e4e4e4"


def utm33(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat in degrees -> easting/northing in metres (transverse Mercator, Snyder eqs. 8-9 to 8-11)."""
    phi, lam = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    s, c, t = np.sin(phi), np.cos(phi), np.tan(phi)
    n = A / np.sqrt(1 - E2 * s * s)
    tt, cc, aa = t * t, EP2 * c * c, (lam - LON0) * c
    e4, e6 = E2 ** 2, E2 ** 3
    m = A * ((1 - E2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
             - (3 * E2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * np.sin(2 * phi)
             + (15 * e4 / 256 + 45 * e6 / 1024) * np.sin(4 * phi)
             - (35 * e6 / 3072) * np.sin(6 * phi))
    x = K0 * n * (aa + (1 - tt + cc) * aa ** 3 / 6 + (5 - 18 * tt + tt * tt + 72 * cc - 58 * EP2) * aa ** 5 / 120)
    y = K0 * (m + n * t * (aa * aa / 2 + (5 - tt + 9 * cc + 4 * cc * cc) * aa ** 4 / 24
                           + (61 - 58 * tt + tt * tt + 600 * cc - 330 * EP2) * aa ** 6 / 720))
    return x + FALSE_EASTING, y


@functools.lru_cache(maxsize=1 << 16)
def _tenths(v: int) -> str:
    """Tenths of a px as SVG text: 123 -> '12.3', -40 -> '-4', 5 -> '.5'."""
    q, r = divmod(abs(v), 10)
    return ("-" if v < 0 else "") + ((f"{q}.{r}" if q else f".{r}") if r else f"{q}")


def path_data(rings: Sequence[np.ndarray]) -> str:
    """Rings in px -> path data.  Absolute points are rounded to 0.1 px first and the relative
    steps taken between rounded points, so rounding never drifts along a ring."""
    out = []
    for ring in rings:
        p = np.round(ring * 10).astype(np.int64)
        keep = np.ones(len(p), bool)
        keep[1:] = np.any(p[1:] != p[:-1], axis=1)
        p = p[keep]
        if len(p) > 1 and (p[0] == p[-1]).all():
            p = p[:-1]  # 'z' closes the ring
        if len(p) < 3:
            continue  # collapsed below 0.1 px
        steps = " ".join(map(_tenths, np.diff(p, axis=0).ravel().tolist())).replace(" -", "-")
        out.append(f"M{_tenths(int(p[0, 0]))} {_tenths(int(p[0, 1]))}l{steps}z")
    return "".join(out)


def class_breaks(values: np.ndarray, classes: int = len(PALETTE)) -> list[float]:
    """Upper limits of the lower classes: quantiles of the values, rounded to 0.1, duplicates dropped."""
    if not len(values):
        return []
    quantiles = np.quantile(values, [i / classes for i in range(1, classes)])
    return sorted({round(float(q), 1) for q in quantiles})


_PROJECTED: dict = {}  # id of the shapes -> (the shapes, their paths): the geometry is the same for every map


def projected_paths(municipalities: Sequence[Shape], counties: Sequence[Shape]) -> tuple[int, list[str], list[str]]:
    """(viewBox height, path data per municipality, per county), projected once per set of shapes."""
    key = (id(municipalities), id(counties))
    cached = _PROJECTED.get(key)
    if cached is not None and cached[0] == (municipalities, counties):
        return cached[1]
    rings = [r for shape in list(municipalities) + list(counties) for r in shape.rings]
    points = np.concatenate(rings)
    east, north = utm33(points[:, 0], points[:, 1])
    own = sum(len(r) for shape in municipalities for r in shape.rings)  # frame the municipalities
    x0, x1, y0, y1 = east[:own].min(), east[:own].max(), north[:own].min(), north[:own].max()
    scale = (WIDTH - 2 * MARGIN) / (x1 - x0)
    height = int(np.ceil((y1 - y0) * scale)) + 2 * MARGIN
    px = np.column_stack([(east - x0) * scale + MARGIN, (y1 - north) * scale + MARGIN])
    pieces = iter(np.split(px, np.cumsum([len(r) for r in rings])[:-1]))
    paths = ([path_data([next(pieces) for _ in s.rings]) for s in municipalities],
             [path_data([next(pieces) for _ in s.rings]) for s in counties])
    result = (height, *paths)
    _PROJECTED.clear()
    _PROJECTED[key] = ((municipalities, counties), result)
    return result


def choropleth_svg(municipalities: Sequence[Shape], counties: Sequence[Shape], values: Mapping[str, float | None],
                   label: str, names: Mapping[str, str] | None = None, unit: str = "",
                   missing_label: str = "") -> str:
    """The map as an SVG element.  ``values``: kommunenummer -> value (None: drawn grey, e.g. not
    asked); ``names``: the names to show (default: the polygons' own); ``label``: the legend's title."""
    names = names or {}
    height, municipality_paths, county_paths = projected_paths(municipalities, counties)
    known = np.array([v for v in values.values() if v is not None], float)
    breaks = class_breaks(known)

    def colour(v):
        return NOT_ASKED if v is None else PALETTE[int(np.searchsorted(breaks, v, side="left"))]

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
           f'aria-label="{html.escape(label)}">',
           '<style>.k path{stroke:#fff;stroke-width:.3}.k path:hover{stroke:#000;stroke-width:1.2}'
           '.f{fill:none;stroke:#444;stroke-width:.9;pointer-events:none}</style>',
           '<g class="k" fill-rule="evenodd">']
    for shape, d in zip(municipalities, municipality_paths):
        v = values.get(shape.key)
        shown = "" if v is None else f"{v:.2f}"
        text = f"{names.get(shape.key, shape.name)} ({shape.key}): " + (
            f"{shown.replace('.', ',')} {unit}".strip() if v is not None else missing_label or "–")
        out.append(f'<path data-kommunenummer="{shape.key}" data-value="{shown}" fill="{colour(v)}" '
                   f'd="{d}"><title>{html.escape(text)}</title></path>')
    out.append('</g><g class="f" fill-rule="evenodd">')
    for shape, d in zip(counties, county_paths):
        out.append(f'<path data-fylke="{shape.key}" d="{d}"/>')
    out.append("</g>")
    out.append(_legend(label, breaks, known, missing_label))
    out.append("</svg>")
    return "\n".join(out)


def _legend(label: str, breaks: list[float], known: np.ndarray, missing_label: str) -> str:
    """Top left, where UTM 33's frame of Norway is sea."""
    def fmt(v: float) -> str:
        return f"{v:.1f}".replace(".", ",")

    low = [float(known.min()) if len(known) else 0.0] + breaks
    high = breaks + [float(known.max()) if len(known) else 0.0]
    rows = [(PALETTE[i], f"{fmt(a)}–{fmt(b)}") for i, (a, b) in enumerate(zip(low, high))]
    if missing_label:
        rows.append((NOT_ASKED, missing_label))
    out = [f'<g class="legend" font-family="sans-serif"><text x="10" y="30" font-size="26" font-weight="bold">'
           f'{html.escape(label)}</text>']
    for i, (fill, text) in enumerate(rows):
        y = 48 + 36 * i
        out.append(f'<rect x="10" y="{y}" width="30" height="26" fill="{fill}" stroke="#888"/>'
                   f'<text x="52" y="{y + 21}" font-size="24">{html.escape(text)}</text>')
    out.append("</g>")
    return "".join(out)
