"""``ingest``: read ``data.location`` with the reader of ``data.format`` and cache it as parquet."""

from __future__ import annotations

from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.recipes.steps.base import RecipeContext, StepRun, save_frame

VERSION = 1
OUTPUT = "dataset.parquet"


def fingerprint_config(ctx: RecipeContext) -> dict[str, Any]:
    from hf_mltrack.recipes._data import data_fingerprint, resolve_format, resolve_locations

    data = ctx.config["data"]
    locations = resolve_locations(data.get("location"), ctx.root)
    fmt = resolve_format(data.get("format", data.get("using")), locations)
    memo = dict((ctx.workspace.state("ingest") or {}).get("data_memo") or {})
    hashes = data_fingerprint(locations, memo)
    ctx.config.setdefault("_runtime", {})["ingest"] = {"locations": locations, "format": fmt, "memo": memo}
    return {
        "format": fmt,
        "options": data.get("options") or data.get("loader_options") or {},
        "data": hashes,
        "target": ctx.target,
    }


def check_target(df: Any, target: str, where: str) -> None:
    if target not in df.columns:
        raise InvalidParameterError(
            f"The target column {target!r} (recipe.yaml 'target') is not in {where}; its columns are {list(df.columns)}"
        )


def run(sr: StepRun) -> None:
    from hf_mltrack.recipes._data import read_data

    ctx = sr.ctx
    data = ctx.config["data"]
    runtime = ctx.config["_runtime"]["ingest"]
    locations, fmt = runtime["locations"], runtime["format"]
    df = read_data(locations, fmt, data.get("options") or data.get("loader_options"))
    df.columns = [str(c) for c in df.columns]
    duplicated = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if duplicated:
        raise InvalidParameterError(f"The ingested data has duplicated column names: {duplicated}")
    source = ", ".join(locations) if len(locations) <= 3 else f"{locations[0]} and {len(locations) - 1} more"
    check_target(df, ctx.target, f"the ingested data ({source})")
    if len(df) == 0:
        raise InvalidParameterError(f"The ingested data ({source}) has no rows")
    save_frame(df, sr.output(OUTPUT))
    sr.state["data_memo"] = runtime["memo"]
    sr.summary.update(rows=len(df), columns=df.shape[1])

    sr.card.kv(
        "Summary",
        [
            ("source", source),
            ("format", fmt),
            ("rows", len(df)),
            ("columns", df.shape[1]),
            ("target", ctx.target),
        ],
    )
    rows = []
    for col in df.columns:
        series = df[col]
        example = series.dropna().iloc[0] if series.notna().any() else None
        rows.append([col, str(series.dtype), int(series.isna().sum()), int(series.nunique()), example])
    sr.card.table("Schema", ["column", "dtype", "missing", "unique", "example"], rows)
    sr.card.frame("Sample", df, max_rows=10)
    target = df[ctx.target]
    if ctx.is_classification:
        counts = target.value_counts(dropna=False).head(20)
        sr.card.table("Target distribution", ["class", "rows"], [[k, int(v)] for k, v in counts.items()])
    else:
        desc = target.describe()
        sr.card.kv("Target distribution", [(k, v) for k, v in desc.items()])
