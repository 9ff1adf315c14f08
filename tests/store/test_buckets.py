"""Downsampled reads from the bucket summaries equal a brute-force min/max over the raw points."""

from __future__ import annotations

import math
import random

import pytest

from hf_mltrack.entities import Metric
from hf_mltrack.tracking import MlTrackClient


def _brute(points: dict[int, float], lo: int, hi: int) -> tuple[float, float]:
    vals = [v for s, v in points.items() if lo <= s <= hi and not math.isnan(v)]
    return min(vals), max(vals)


def _check(client: MlTrackClient, run_id: str, points: dict[int, float], max_points: int, lo=None, hi=None) -> None:
    got = client.get_metric_history_bulk_interval([run_id], "m", max_points, lo, hi)[run_id]
    lo_, hi_ = lo if lo is not None else min(points), hi if hi is not None else max(points)
    in_range = {s: v for s, v in points.items() if lo_ <= s <= hi_}
    assert len(got) <= max_points
    steps = [p.step for p in got]
    assert steps == sorted(set(steps))
    for p in got:  # every returned point is a real stored point
        assert p.step in in_range and (p.value == in_range[p.step] or math.isnan(in_range[p.step]))
    mn, mx = _brute(points, lo_, hi_)
    assert min(p.value for p in got if not math.isnan(p.value)) == mn
    assert max(p.value for p in got if not math.isnan(p.value)) == mx
    assert steps[0] == min(in_range) and steps[-1] == max(in_range)


def test_appends_in_many_batches_match_brute_force(store_uri: str) -> None:
    rng = random.Random(0)
    client = MlTrackClient()
    run = client.create_run("0")
    points: dict[int, float] = {}
    step = 0
    for _ in range(30):  # 30 flushes, like a training loop
        batch = []
        for _ in range(rng.randint(1, 700)):
            step += rng.choice([1, 1, 1, 5, 40])
            value = rng.gauss(0, 1)
            points[step] = value
            batch.append(Metric("m", value, 0, step))
        client.log_batch(run.info.run_id, metrics=batch, synchronous=True)
    for max_points in (10, 100, 1000):
        _check(client, run.info.run_id, points, max_points)
    _check(client, run.info.run_id, points, 50, lo=step // 3, hi=2 * step // 3)


def test_overwrites_recompute_exactly(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    points = {s: float(s % 100) for s in range(20_000)}
    points[12_345] = 10_000.0
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 0, s) for s, v in points.items()], synchronous=True)
    # Overwrite the spike (it must disappear) and older steps with new extremes.
    rewrites = {12_345: 1.0, 500: -50.0, 19_999: 3.0}
    points.update(rewrites)
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 1, s) for s, v in rewrites.items()], synchronous=True)
    _check(client, run.info.run_id, points, 200)
    got = client.get_metric_history_bulk_interval([run.info.run_id], "m", 200)[run.info.run_id]
    assert 10_000.0 not in [p.value for p in got]


def test_duplicate_steps_inside_one_batch(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    batch = [Metric("m", float(s), 0, s) for s in range(5000)] + [Metric("m", 99_999.0, 0, 10), Metric("m", 1.0, 0, 10)]
    client.log_batch(run.info.run_id, metrics=batch, synchronous=True)
    points = {s: float(s) for s in range(5000)}
    points[10] = 1.0
    _check(client, run.info.run_id, points, 100)


def test_nan_points_never_become_extremes(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    points = {s: (math.nan if s % 3 == 0 else float(s)) for s in range(1, 3000)}
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 0, s) for s, v in points.items()], synchronous=True)
    _check(client, run.info.run_id, points, 64)


@pytest.mark.parametrize("lo_hi", [(0, 63), (64, 64), (10, 5000), (4000, 100_000)], ids=str)
def test_ranges_cutting_buckets(store_uri: str, lo_hi: tuple[int, int]) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    points = {s: math.sin(s / 50) * s for s in range(0, 8000, 3)}
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 0, s) for s, v in points.items()], synchronous=True)
    lo, hi = lo_hi
    if not any(lo <= s <= hi for s in points):
        assert client.get_metric_history_bulk_interval([run.info.run_id], "m", 10, lo, hi)[run.info.run_id] == []
        return
    _check(client, run.info.run_id, points, 20, lo, hi)


def _columns(lo: int, hi: int, pairs: int) -> list[tuple[int, int]]:
    span = hi - lo + 1
    edges = [lo + (c * span + pairs - 1) // pairs for c in range(pairs)] + [hi + 1]
    return [(edges[c], edges[c + 1] - 1) for c in range(pairs) if edges[c] <= edges[c + 1] - 1]


@pytest.mark.parametrize("steps", [1000, 3000], ids=lambda n: f"{n}-steps")
def test_chart_sized_series_keep_a_min_max_pair_per_column(store_uri: str, steps: int) -> None:
    """Issue 22: a 1,000-step series came back as 34 points (one pair per 64-step bucket) for any
    max_results from 50 to 999. Now every column of the range keeps its own exact min and max."""
    rng = random.Random(1)
    client = MlTrackClient()
    run = client.create_run("0")
    points = {s: rng.gauss(0, 1) for s in range(steps)}
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 0, s) for s, v in points.items()], synchronous=True)
    rid = run.info.run_id
    exact = client.get_metric_history_bulk_interval([rid], "m", 5000)[rid]
    assert [(p.step, p.value) for p in exact] == sorted(points.items())  # a few thousand points: all of them
    for max_points in (50, 600, 999):
        got = client.get_metric_history_bulk_interval([rid], "m", max_points)[rid]
        _check(client, rid, points, max_points)
        pairs = (max_points - 2) // 2
        assert len(got) >= min(steps, 2 * pairs) * 0.9  # not 34
        got_steps = {p.step for p in got}
        if pairs > steps / 64:  # read from the raw points: the exact min and max of every column
            for c_lo, c_hi in _columns(0, steps - 1, pairs):
                col = {s: v for s, v in points.items() if c_lo <= s <= c_hi}
                assert min(col, key=col.get) in got_steps and max(col, key=col.get) in got_steps
        else:  # from whole buckets: every pixel column (two columns of the request) has its points
            for c_lo, c_hi in _columns(0, steps - 1, pairs // 2):
                assert got_steps & set(range(c_lo, c_hi + 1)), f"no point in steps {c_lo}-{c_hi}"


def test_long_series_has_a_point_in_every_column(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    points = {s: math.sin(s / 700) + (s % 17) / 100 for s in range(0, 120_000)}
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 0, s) for s, v in points.items()], synchronous=True)
    rid = run.info.run_id
    _check(client, rid, points, 1202)
    # The UI asks for two columns per pixel: every pixel column of the chart gets points.
    for max_points, lo, hi in ((1202, 0, 119_999), (402, 1000, 41_000)):
        got = client.get_metric_history_bulk_interval([rid], "m", max_points, lo, hi)[rid]
        pixels = (max_points - 2) // 4
        assert {(p.step - lo) * pixels // (hi - lo + 1) for p in got} == set(range(pixels))


@pytest.mark.parametrize("lo_hi", [(None, None), (1013, 90_007)], ids=["whole", "cut-buckets"])
def test_each_column_of_whole_buckets_keeps_its_exact_min_and_max(store_uri: str, lo_hi: tuple) -> None:
    """The database folds whole buckets into columns (`_column_extremes`): every column of the request
    holds a point with its exact least and greatest value, ties (repeated values) and NaN included."""
    from hf_mltrack.store.sql.buckets import SHIFTS

    rng = random.Random(2)
    client = MlTrackClient()
    run = client.create_run("0")
    values = [0.5, 0.25, -1.0, 2.0, math.nan]  # few distinct values: ties in every column
    points = {s: rng.choice(values) if s % 5 else rng.gauss(0, 1) for s in range(0, 100_000)}
    client.log_batch(run.info.run_id, metrics=[Metric("m", v, 0, s) for s, v in points.items()], synchronous=True)
    lo, hi = lo_hi
    lo_, hi_ = (0, 99_999) if lo is None else (lo, hi)
    max_points = 1202
    got = client.get_metric_history_bulk_interval([run.info.run_id], "m", max_points, lo, hi)[run.info.run_id]
    _check(client, run.info.run_id, points, max_points, lo, hi)
    pairs = (max_points - 2) // 2
    shift = SHIFTS[0]  # 100,000 steps in 600 columns: the finest level (1,563 buckets) is the coarsest with enough
    first_b, last_b = lo_ >> shift, hi_ >> shift
    n_buckets = last_b - first_b + 1
    columns: dict[int, list[float]] = {}
    for s, v in points.items():
        if lo_ <= s <= hi_ and not math.isnan(v):
            columns.setdefault(((s >> shift) - first_b) * pairs // n_buckets, []).append(v)
    held: dict[int, set[float]] = {}
    for p in got:
        held.setdefault(((p.step >> shift) - first_b) * pairs // n_buckets, set()).add(p.value)
    assert len(columns) == pairs
    for c, vals in columns.items():
        assert {min(vals), max(vals)} <= held.get(c, set()), f"column {c} lost its min or max"


@pytest.mark.parametrize("pattern", ["none", "first", "last", "all", "single", "sparse"])
def test_summaries_of_sorted_points_match_the_point_by_point_fold(pattern: str) -> None:
    """`summarize_sorted` (min/max over slices; a NaN among the values is found by the comparison that
    raises, not by a scan) gives what folding the points one by one (`_add_point`) gives."""
    from hf_mltrack.store.sql.buckets import SHIFTS, _add_point, _new, summarize_sorted

    rng = random.Random(pattern)
    steps = sorted(rng.sample(range(0, 2000), 700)) if pattern == "sparse" else list(range(5, 700))
    values: list = [rng.choice([0.5, -1.0, 3.25, rng.random()]) for _ in steps]
    for i, step in enumerate(steps):
        offset = step % (1 << SHIFTS[0])
        if (
            (pattern == "first" and offset == 0)
            or (pattern == "last" and offset == 63)
            or (pattern == "all" and 128 <= step < 192)
            or (pattern == "single" and step == 300)
            or (pattern == "sparse" and i % 7 == 0)
        ):
            values[i] = None
    stamps = [1_000 + s for s in steps]
    expected: dict[int, list] = {}
    for step, value, ts in zip(steps, values, stamps, strict=True):
        _add_point(expected.setdefault(step >> SHIFTS[0], _new()), step, value, ts, value is None)
    assert summarize_sorted(steps, values, stamps) == expected


@pytest.mark.parametrize("max_points", [5000, 40], ids=["whole", "downsampled"])
def test_rows_without_timestamps_carry_the_same_steps_and_values(store_uri: str, max_points: int) -> None:
    """``metric_history_rows(timestamps=False)`` (the charts on a step axis): the same (step, value) rows as
    with timestamps, NaN as None and infinities kept, for a whole series and a downsampled one."""
    from hf_mltrack.store import get_tracking_store

    client = MlTrackClient()
    run = client.create_run("0")
    specials = {7: math.nan, 8: math.inf, 9: -math.inf}
    values = {s: specials.get(s, math.sin(s / 13) + s / 700) for s in range(600)}
    points = [Metric("m", v, 1_700_000_000_000 + s, s) for s, v in values.items()]
    client.log_batch(run.info.run_id, metrics=points, synchronous=True)
    store = get_tracking_store(store_uri)
    full = store.metric_history_rows([run.info.run_id], "m", max_points)[run.info.run_id]
    lean = store.metric_history_rows([run.info.run_id], "m", max_points, timestamps=False)[run.info.run_id]
    assert [r[:2] for r in lean] == [r[:2] for r in full]
    assert all(len(r) == 3 for r in full)
    if max_points > len(values):
        assert all(len(r) == 2 for r in lean)  # read without the column
        assert [r[0] for r in lean] == sorted(values) and lean[7][1] is None and lean[8][1] == math.inf
