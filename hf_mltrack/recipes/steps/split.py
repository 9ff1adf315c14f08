"""``split``: shuffle with a seed and cut the ingested data into training, validation and test sets."""

from __future__ import annotations

import math
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.recipes.steps.base import RecipeContext, StepRun, load_frame, save_frame

VERSION = 1
OUTPUTS = {"train": "train.parquet", "validation": "validation.parquet", "test": "test.parquet"}
DEFAULT_FRACTIONS = (0.75, 0.125, 0.125)
DEFAULT_SEED = 42


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidParameterError(f"steps.split.{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def fractions(conf: dict[str, Any]) -> tuple[float, float, float]:
    """``(train, validation, test)`` from ``split_ratios`` or ``*_fraction`` (the missing one is the rest)."""
    if "split_ratios" in conf:
        ratios = conf["split_ratios"]
        if not isinstance(ratios, (list, tuple)) or len(ratios) != 3:
            raise InvalidParameterError(
                f"steps.split.split_ratios must list 3 numbers (train, validation, test), got {ratios!r}"
            )
        values = [_number(r, "split_ratios") for r in ratios]
        total = sum(values)
        if total <= 0 or any(v < 0 for v in values):
            raise InvalidParameterError(f"steps.split.split_ratios must be non-negative, got {ratios!r}")
        train, val, test = (v / total for v in values)
    else:
        given = {
            k: _number(conf[f"{k}_fraction"], f"{k}_fraction")
            for k in ("train", "validation", "test")
            if conf.get(f"{k}_fraction") is not None
        }
        defaults = dict(zip(("train", "validation", "test"), DEFAULT_FRACTIONS, strict=True))
        if len(given) == 2:
            missing = next(k for k in defaults if k not in given)
            given[missing] = 1.0 - sum(given.values())
        elif len(given) < 2:
            rest = 1.0 - sum(given.values())
            free = [k for k in defaults if k not in given]
            weight = sum(defaults[k] for k in free)
            for k in free:
                given[k] = rest * defaults[k] / weight
        train, val, test = given["train"], given["validation"], given["test"]
        if any(v < 0 or v > 1 for v in (train, val, test)) or abs(train + val + test - 1.0) > 1e-6:
            raise InvalidParameterError(
                "steps.split fractions must be between 0 and 1 and sum to 1: got "
                f"train={train:g}, validation={val:g}, test={test:g}"
            )
    if train <= 0 or test <= 0:
        raise InvalidParameterError(f"steps.split needs a training and a test set: got train={train:g}, test={test:g}")
    return train, val, test


def fingerprint_config(ctx: RecipeContext) -> dict[str, Any]:
    conf = ctx.step_config("split")
    seed = conf.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidParameterError(f"steps.split.seed must be an integer, got {seed!r}")
    stratify = conf.get("stratify", "auto")
    if stratify not in (True, False, "auto"):
        raise InvalidParameterError(f"steps.split.stratify must be true, false or auto, got {stratify!r}")
    return {
        "fractions": fractions(conf),
        "seed": seed,
        "stratify": stratify if ctx.is_classification else False,
        "shuffle": bool(conf.get("shuffle", True)),
        "target": ctx.target,
        "task": ctx.template.task,
    }


def _split_once(df: Any, size: float, seed: int, stratify: Any, shuffle: bool) -> tuple[Any, Any]:
    from sklearn.model_selection import train_test_split

    return train_test_split(
        df, test_size=size, random_state=seed, shuffle=shuffle, stratify=stratify if shuffle else None
    )


def run(sr: StepRun) -> None:
    import pandas as pd

    ctx = sr.ctx
    conf = fingerprint_config(ctx)
    train_f, val_f, test_f = conf["fractions"]
    df = load_frame(ctx.upstream("ingest", "dataset.parquet"))
    target = ctx.target
    missing = int(df[target].isna().sum())
    df = df[df[target].notna()].reset_index(drop=True)
    if not ctx.is_classification and not pd.api.types.is_numeric_dtype(df[target]):
        raise InvalidParameterError(
            f"The target column {target!r} has dtype {df[target].dtype}, but regression/v1 needs a numeric "
            "target; use recipe: classification/v1 for labels"
        )
    if ctx.is_classification and df[target].nunique() < 2:
        raise InvalidParameterError(
            f"The target column {target!r} has a single class ({df[target].iloc[0]!r}); classification needs "
            "at least two"
        )
    if len(df) < 3:
        raise InvalidParameterError(f"Too few rows to split: {len(df)} rows with a target value")
    notes = []
    stratify = conf["stratify"]
    labels = df[target] if stratify else None

    def cut(frame: Any, size: float, labels: Any) -> tuple[Any, Any]:
        nonlocal stratify
        try:
            return _split_once(frame, size, conf["seed"], labels, conf["shuffle"])
        except ValueError as exc:
            if stratify is True or labels is None:
                raise InvalidParameterError(f"Cannot split the data: {exc}") from exc
            notes.append(f"Not stratified: {exc}")
            stratify = False
            return _split_once(frame, size, conf["seed"], None, conf["shuffle"])

    rest, test = cut(df, test_f, labels)
    if val_f > 0:
        rest_labels = rest[target] if stratify else None
        train, validation = cut(rest, val_f / (train_f + val_f), rest_labels)
    else:
        train, validation = rest, rest.iloc[0:0]
    sets = {"train": train, "validation": validation, "test": test}
    for name, frame in sets.items():
        save_frame(frame.reset_index(drop=True), sr.output(OUTPUTS[name]))
    sr.summary.update({f"{name}_rows": len(frame) for name, frame in sets.items()})

    sr.card.kv(
        "Summary",
        [
            ("fractions (train/validation/test)", f"{train_f:.3g} / {val_f:.3g} / {test_f:.3g}"),
            ("seed", conf["seed"]),
            ("stratified", bool(stratify)),
            ("rows dropped (missing target)", missing),
            *[(f"{name} rows", len(frame)) for name, frame in sets.items()],
        ],
    )
    if ctx.is_classification:
        classes = df[target].value_counts().index[:20]
        rows = [[c, *[int((frame[target] == c).sum()) for frame in sets.values()]] for c in classes]
        sr.card.table("Class counts", ["class", "train", "validation", "test"], rows)
    if notes:
        sr.card.text("Notes", "\n".join(notes))
