"""Land polygons of the municipalities and counties (GeoJSON, WGS84 lon/lat) for the report's map.

``data/kommuner_2020_forenkla.geojson``: one feature per municipality with the
properties ``kommunenummer`` and ``kommune``; ``data/fylker_2020_forenkla.geojson``:
one per county with ``fylke`` and ``fylkesnavn``.  Geometries are ``Polygon`` or
``MultiPolygon``.  Errors name the file, the feature and the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.errors import InputError
from pipeline.inputs.source import Source
from pipeline.inputs.tables import LAT_RANGE, LON_RANGE


@dataclass(frozen=True)
class Shape:
    key: str  # kommunenummer or fylke
    name: str
    rings: tuple[np.ndarray, ...]  # every ring of every polygon, (n, 2) lon/lat


def read_shapes(source: Source, key: str, name: str, known: pd.Index) -> tuple[Shape, ...]:
    """One ``Shape`` per feature, sorted by ``key``; every key of ``known`` exactly once."""
    where = str(source.path)
    try:
        raw = json.loads(source.text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}:{exc.lineno}", f"not valid JSON: {exc.msg}") from None
    features = raw.get("features") if isinstance(raw, dict) and raw.get("type") == "FeatureCollection" else None
    if not isinstance(features, list):
        raise InputError(where, "not a GeoJSON FeatureCollection")
    shapes = {}
    for i, feature in enumerate(features):
        at = f"{where}:features[{i}]"
        props = feature.get("properties") or {}
        code = props.get(key)
        if code not in known:
            raise InputError(f"{at}.properties.{key}", f"unknown {key} {code!r}", "use the 2020-2023 codes")
        if code in shapes:
            raise InputError(f"{at}.properties.{key}", f"second feature for {code}")
        shapes[code] = Shape(code, str(props.get(name, code)), _rings(feature.get("geometry") or {}, f"{at}.geometry"))
    missing = known.difference(list(shapes))
    if len(missing):
        raise InputError(where, f"no feature for {key} {missing[0]!r} ({len(missing)} missing)")
    return tuple(shapes[c] for c in sorted(shapes))


def _rings(geometry: dict, at: str) -> tuple[np.ndarray, ...]:
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise InputError(f"{at}.type", f"expected Polygon or MultiPolygon, found {kind!r}")
    polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
    try:
        rings = tuple(np.asarray(ring, dtype=float).reshape(-1, 2) for polygon in polygons for ring in polygon)
    except (TypeError, ValueError):
        raise InputError(f"{at}.coordinates", "not a list of [lon, lat] pairs") from None
    for ring in rings:
        if len(ring) < 4:
            raise InputError(f"{at}.coordinates", f"a ring of {len(ring)} points (a closed ring needs at least 4)")
        lon, lat = ring[:, 0], ring[:, 1]
        if lon.min() < LON_RANGE[0] or lon.max() > LON_RANGE[1] or lat.min() < LAT_RANGE[0] or lat.max() > LAT_RANGE[1]:
            raise InputError(f"{at}.coordinates", "a point outside Norway's bounding box (4-32 E, 57.5-71.5 N)",
                             "coordinates are lon, lat in degrees (WGS84)")
    return rings
