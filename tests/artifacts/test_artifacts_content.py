"""log_text / log_dict / log_table / log_image / log_figure and their loaders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from hf_mltrack.artifacts import load_dict, load_image, load_images, load_table, load_text
from hf_mltrack.artifacts.content import log_dict, log_table, log_text
from hf_mltrack.artifacts.media import log_figure, log_image
from hf_mltrack.exceptions import InvalidParameterError, MissingDependencyError


def test_text_round_trip_by_repo_and_by_uri(repo, root_uri: str) -> None:
    log_text(repo, "Training completed successfully ✓", "status.txt")
    log_text(root_uri, "nested", "logs/run.log")
    assert load_text(repo, "status.txt") == "Training completed successfully ✓"
    assert load_text(f"{root_uri}/logs/run.log") == "nested"
    with pytest.raises(InvalidParameterError, match="expects a str"):
        log_text(repo, {"a": 1}, "x.txt")  # type: ignore[arg-type]


def test_dict_json_and_yaml_by_extension(repo, root_uri: str) -> None:
    payload = {"metric": 0.95, "params": {"lr": 2e-5}, "中文": ["ok"]}
    log_dict(repo, payload, "results.json")
    log_dict(repo, payload, "config.yaml")
    log_dict(repo, payload, "config.yml")
    assert json.loads(repo.read_text("results.json")) == payload
    assert repo.read_text("config.yaml").startswith("metric: 0.95\nparams:\n  lr: 2.0e-05\n")
    assert load_dict(f"{root_uri}/results.json") == payload
    assert load_dict(repo, "config.yaml") == load_dict(repo, "config.yml") == payload


def test_dict_converts_numpy_and_friends(repo) -> None:
    attention = np.arange(6, dtype=np.float32).reshape(2, 3)  # the seed's log_dict(attention_weights, ...)
    value = {
        "attn": attention,
        "n": np.int64(3),
        "path": Path("/data/x"),
        "when": dt.date(2026, 1, 2),
        "tags": {"b", "a"},
    }
    log_dict(repo, value, "a.json")
    log_dict(repo, value, "a.yaml")
    expected = {
        "attn": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]],
        "n": 3,
        "path": "/data/x",
        "when": "2026-01-02",
        "tags": ["a", "b"],
    }
    assert load_dict(repo, "a.json") == expected
    assert load_dict(repo, "a.yaml") == expected
    with pytest.raises(InvalidParameterError, match="Cannot serialize"):
        log_dict(repo, {"x": object()}, "bad.json")


def test_load_dict_reports_corrupt_content(repo) -> None:
    log_text(repo, "{not json", "broken.json")
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        load_dict(repo, "broken.json")


def test_table_from_dict_and_dataframe_appends(repo, root_uri: str) -> None:
    import pandas as pd

    log_table(repo, {"prompt": ["hi", "yo"], "score": [0.5, 0.75]}, "eval/predictions.json")
    log_table(repo, pd.DataFrame({"prompt": ["hey"], "score": [1.0]}, index=[7]), "eval/predictions.json")
    df = load_table(f"{root_uri}/eval/predictions.json")
    assert df.to_dict("list") == {"prompt": ["hi", "yo", "hey"], "score": [0.5, 0.75, 1.0]}
    stored = json.loads(repo.read_text("eval/predictions.json"))
    assert stored["columns"] == ["prompt", "score"] and len(stored["data"]) == 3


def test_table_errors(repo) -> None:
    with pytest.raises(InvalidParameterError, match="end in '.json'"):
        log_table(repo, {"a": [1]}, "table.csv")
    with pytest.raises(InvalidParameterError, match="equally long"):
        log_table(repo, {"a": [1, 2], "b": [1]}, "t.json")
    with pytest.raises(InvalidParameterError, match="DataFrame or a dict"):
        log_table(repo, [1, 2], "t.json")
    log_text(repo, '{"x": 1}', "notatable.json")
    with pytest.raises(InvalidParameterError, match="not a table"):
        load_table(repo, "notatable.json")


@pytest.mark.parametrize(
    ("image", "mode"),
    [
        (np.random.default_rng(0).integers(0, 255, (10, 12, 3), dtype=np.uint8), "RGB"),
        (np.random.default_rng(0).random((10, 12)), "L"),
        (np.zeros((10, 12, 1), dtype=np.int64), "L"),
        (np.ones((10, 12, 4), dtype=np.float32), "RGBA"),
        (np.eye(10, 12, dtype=bool), "L"),
    ],
    ids=["uint8-rgb", "float-gray", "int-1channel", "float-rgba", "bool"],
)
def test_numpy_images_round_trip(repo, image: np.ndarray, mode: str) -> None:
    log_image(repo, image, "sample_image.png")
    img = load_image(repo, "sample_image.png")
    assert (img.size, img.mode) == ((12, 10), mode)
    if image.dtype == np.uint8:
        assert np.array_equal(np.asarray(img), image)


def test_pil_and_lossy_formats(repo) -> None:
    from PIL import Image

    log_image(repo, Image.new("RGBA", (5, 4), (255, 0, 0, 128)), "a.jpg")  # JPEG has no alpha: converted
    assert load_image(repo, "a.jpg").format == "JPEG"
    with pytest.raises(InvalidParameterError, match="png"):
        log_image(repo, np.zeros((2, 2)), "a.xyz")


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((3, 8, 8)), "transposed"),
        (np.full((4, 4), 1.5), r"\[0, 1\]"),
        (np.full((4, 4), 300), r"\[0, 255\]"),
        (np.array([[np.nan]]), "NaN"),
        (np.zeros((2, 2), dtype=complex), "dtype"),
    ],
    ids=["chw", "float-range", "int-range", "nan", "complex"],
)
def test_bad_images_are_explained(repo, image: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        log_image(repo, image, "x.png")


def test_image_series_by_key_and_step(repo, root_uri: str) -> None:
    for step in (10, 2, 0):
        path = log_image(
            repo, np.full((4, 4), step, dtype=np.uint8), key="samples/val", step=step, timestamp=1000 + step
        )
        assert path == f"images/samples/val/step_{step}.png"
    series = load_images(root_uri, "samples/val")
    assert list(series) == [0, 2, 10]
    assert int(np.asarray(series[10])[0, 0]) == 10
    meta = json.loads(repo.read_text("images/samples/val/step_2.json"))
    assert meta == {
        "key": "samples/val",
        "step": 2,
        "timestamp": 1002,
        "width": 4,
        "height": 4,
        "file": "step_2.png",
    }
    with pytest.raises(InvalidParameterError, match="exactly one"):
        log_image(repo, np.zeros((2, 2)), "x.png", key="k")
    with pytest.raises(InvalidParameterError, match="step"):
        log_image(repo, np.zeros((2, 2)), key="k", step=-1)
    with pytest.raises(InvalidParameterError, match="'..'"):
        log_image(repo, np.zeros((2, 2)), key="../k", step=1)


def test_matplotlib_figures_and_axes(repo) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [4, 5, 6])
    log_figure(repo, fig, "training_curve.png")
    log_figure(repo, ax, "curve.svg", save_kwargs={"transparent": True})
    plt.close(fig)
    assert load_image(repo, "training_curve.png").size == (640, 480)
    assert repo.read_text("curve.svg").lstrip().startswith("<?xml")
    with pytest.raises(InvalidParameterError, match="cannot save"):
        log_figure(repo, fig, "curve.xyz")
    with pytest.raises(InvalidParameterError, match="extension"):
        log_figure(repo, fig, "curve")
    with pytest.raises(InvalidParameterError, match="matplotlib figures"):
        log_figure(repo, "not a figure", "x.png")


def test_plotly_figures(tmp_path: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    from hf_mltrack.artifacts import get_artifact_repository

    repo = get_artifact_repository(str(tmp_path / "store"))
    fig = go.Figure(data=go.Scatter(x=[1, 2], y=[3, 4]))
    log_figure(repo, fig, "curve.html")
    html = repo.read_text("curve.html")
    assert "<html>" in html and 'src="https://cdn.plot.ly' not in html and len(html) > 1_000_000  # offline
    try:
        import kaleido  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pip install kaleido"):
            log_figure(repo, fig, "curve.png")
