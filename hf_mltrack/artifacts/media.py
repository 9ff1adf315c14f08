"""Log and load figures and images as artifacts.

- [`log_figure`]: a matplotlib figure (or axes) in any format matplotlib writes, or a plotly figure as
  `.html` (self-contained: plotly.js is embedded so it opens offline) or as an image (needs kaleido).
- [`log_image`]: a numpy array (`(H, W)`, `(H, W, 1|3|4)`; integers in [0, 255] or floats in [0, 1]), a
  torch tensor of that shape, or a PIL image; either to an explicit `artifact_file`, or as one step of a
  series: `log_image(img, key="samples", step=3)` writes `images/samples/step_3.png` and
  `images/samples/step_3.json` (step, timestamp, size), which [`load_images`] reads back in step order.
"""

from __future__ import annotations

import io
import json
import re
import time
from typing import TYPE_CHECKING, Any

from hf_mltrack.exceptions import InvalidParameterError, MissingDependencyError, missing_extra

from .content import RepoOrUri, as_repository, resolve_file
from .paths import join_artifact_path, validate_artifact_path

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

__all__ = ["IMAGE_SERIES_ROOT", "load_image", "load_images", "log_figure", "log_image", "to_pil_image"]

#: Folder of step-indexed image series: `images/<key>/step_<n>.png`.
IMAGE_SERIES_ROOT = "images"
_PIL_FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "gif": "GIF",
    "bmp": "BMP",
    "tif": "TIFF",
    "tiff": "TIFF",
    "webp": "WEBP",
}
_STEP_FILE = re.compile(r"^step_(\d+)\.png$")


def _extension(artifact_file: str) -> str:
    base = artifact_file.rsplit("/", 1)[-1]
    if "." not in base:
        raise InvalidParameterError(
            f"Invalid artifact_file {artifact_file!r}: add an extension naming the format, e.g. 'plot.png'."
        )
    return base.rsplit(".", 1)[1].lower()


def _import_pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise missing_extra("Logging and loading images", "pillow", "media") from exc
    return Image


def to_pil_image(image: Any) -> Image.Image:
    """Convert a numpy array, torch tensor or PIL image to a PIL image, checking shape and value range."""
    Image = _import_pil()
    if isinstance(image, Image.Image):
        return image
    import numpy as np

    if hasattr(image, "detach"):  # torch tensor
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidParameterError(
            "log_image expects an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got "
            f"{arr.shape}. Channels-first arrays (C, H, W) must be transposed to (H, W, C) first."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        if arr.size and not np.isfinite(arr).all():
            raise InvalidParameterError("log_image got a float image containing NaN or inf values.")
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise InvalidParameterError(
                f"log_image expects float images in [0, 1], got values in [{arr.min():g}, {arr.max():g}]: "
                "scale them to [0, 1], or pass uint8 values in [0, 255]."
            )
        arr = np.round(arr * 255).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise InvalidParameterError(
                f"log_image expects integer images in [0, 255], got values in [{arr.min()}, {arr.max()}]."
            )
        arr = arr.astype(np.uint8)
    else:
        raise InvalidParameterError(f"log_image cannot store an array of dtype {arr.dtype}: use uint8 or float.")
    return Image.fromarray(np.ascontiguousarray(arr))


def _encode_image(pil: Image.Image, ext: str, artifact_file: str) -> bytes:
    fmt = _PIL_FORMATS.get(ext)
    if fmt is None:
        raise InvalidParameterError(
            f"Invalid artifact_file {artifact_file!r}: images can be saved as {', '.join(sorted(_PIL_FORMATS))}."
        )
    if fmt in ("JPEG", "BMP") and pil.mode not in ("RGB", "L"):
        pil = pil.convert("RGB")  # these formats have no alpha channel
    buf = io.BytesIO()
    pil.save(buf, format=fmt)
    return buf.getvalue()


def image_series_path(key: str, step: int) -> str:
    """Artifact path of one step of an image series: `images/<key>/step_<step>.png`."""
    return join_artifact_path(IMAGE_SERIES_ROOT, key, f"step_{step}.png")


def log_image(
    repo_or_uri: RepoOrUri,
    image: Any,
    artifact_file: str | None = None,
    *,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
) -> str:
    """Store an image, either as `artifact_file` or as step `step` of the image series `key`.

    Args:
        repo_or_uri ([`ArtifactRepository`] or `str`): destination repository or artifact root URI.
        image (`numpy.ndarray`, `torch.Tensor` or `PIL.Image.Image`): `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or
            `(H, W, 4)`; integer values in [0, 255] or float values in [0, 1].
        artifact_file (`str`, *optional*): artifact path whose extension picks the format
            (`png`, `jpg`, `webp`, ...). Mutually exclusive with `key`.
        key (`str`, *optional*): name of an image series (may contain `/`).
        step (`int`, *optional*, defaults to `0`): step of the series.
        timestamp (`int`, *optional*): milliseconds since the epoch recorded with a series image; now by
            default.

    Returns:
        `str`: the artifact path written.
    """
    if (artifact_file is None) == (key is None):
        raise InvalidParameterError(
            "log_image needs exactly one of artifact_file (e.g. 'sample.png') or key (with step) for an image series."
        )
    if artifact_file is not None:
        if step is not None or timestamp is not None:
            raise InvalidParameterError("step and timestamp apply to image series only: pass key=... with them.")
        name = validate_artifact_path(artifact_file, what="artifact_file", allow_empty=False)
        pil = to_pil_image(image)
        as_repository(repo_or_uri).write_bytes(_encode_image(pil, _extension(name), name), name)
        return name
    key = validate_artifact_path(key, what="image key", allow_empty=False)
    step = 0 if step is None else step
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise InvalidParameterError(f"Invalid step {step!r} for image series {key!r}: expected an int >= 0.")
    pil = to_pil_image(image)
    repo = as_repository(repo_or_uri)
    name = image_series_path(key, step)
    repo.write_bytes(_encode_image(pil, "png", name), name)
    meta = {
        "key": key,
        "step": step,
        "timestamp": int(time.time() * 1000) if timestamp is None else int(timestamp),
        "width": pil.width,
        "height": pil.height,
        "file": name.rsplit("/", 1)[-1],
    }
    repo.write_text(json.dumps(meta), name[: -len(".png")] + ".json")
    return name


def load_image(
    artifact_uri: RepoOrUri, artifact_file: str | None = None, *, tracking_uri: str | None = None
) -> Image.Image:
    """A stored image as a PIL image (fully loaded into memory).

    Args:
        artifact_uri (`str` or [`ArtifactRepository`]): the image's full URI, or a repository/root URI
            when `artifact_file` is given.
        artifact_file (`str`, *optional*): the image's artifact path under `artifact_uri`.
        tracking_uri (`str`, *optional*): tracking store used to resolve `runs:/` URIs.
    """
    Image = _import_pil()
    repo, name = resolve_file(artifact_uri, artifact_file, tracking_uri=tracking_uri)
    img = Image.open(io.BytesIO(repo.read_bytes(name)))
    img.load()
    return img


def load_images(repo_or_uri: RepoOrUri, key: str, *, tracking_uri: str | None = None) -> dict[int, Image.Image]:
    """All steps of the image series `key`, as `{step: PIL image}` in increasing step order.

    Args:
        repo_or_uri (`str` or `ArtifactRepository`): a run's artifact root (``runs:/<run_id>``, a URI or a
            repository).
        key (`str`): the series name given to ``log_image(..., key=...)``.
        tracking_uri (`str`, *optional*): the tracking store that resolves ``runs:/`` URIs.

    Returns:
        `dict[int, PIL.Image.Image]`
    """
    key = validate_artifact_path(key, what="image key", allow_empty=False)
    repo = as_repository(repo_or_uri, tracking_uri=tracking_uri)
    folder = join_artifact_path(IMAGE_SERIES_ROOT, key)
    steps = []
    for info in repo.list_artifacts(folder):
        match = _STEP_FILE.match(info.path.rsplit("/", 1)[-1])
        if match and not info.is_dir:
            steps.append((int(match.group(1)), info.path))
    return {step: load_image(repo, path) for step, path in sorted(steps)}


def _figure_kind(figure: Any) -> str:
    module = type(figure).__module__ or ""
    if module.startswith("matplotlib"):
        return "matplotlib"
    if module.startswith("plotly"):
        return "plotly"
    raise InvalidParameterError(
        f"log_figure supports matplotlib figures (or axes) and plotly figures, got {type(figure).__name__} "
        f"from {module or 'an unknown module'}."
    )


def _figure_bytes(figure: Any, ext: str, save_kwargs: dict[str, Any]) -> bytes:
    kind = _figure_kind(figure)
    if kind == "matplotlib":
        fig = figure if hasattr(figure, "savefig") else getattr(figure, "figure", None)
        if fig is None or not hasattr(fig, "savefig"):
            raise InvalidParameterError(f"Cannot save the matplotlib object {figure!r}: pass a Figure or Axes.")
        buf = io.BytesIO()
        try:
            fig.savefig(buf, format=ext, **save_kwargs)
        except ValueError as exc:
            raise InvalidParameterError(f"matplotlib cannot save a figure as {ext!r}: {exc}") from exc
        return buf.getvalue()
    if ext in ("html", "htm"):
        # Embed plotly.js: the artifact must open offline (no CDN).
        return figure.to_html(**{"include_plotlyjs": True, "full_html": True, **save_kwargs}).encode("utf-8")
    try:
        return figure.to_image(format=ext, **save_kwargs)
    except (ValueError, ImportError, RuntimeError) as exc:
        if "kaleido" in str(exc).lower():
            raise MissingDependencyError(
                f"Saving a plotly figure as {ext!r} needs kaleido: pip install kaleido (or log it as '.html')."
            ) from exc
        raise InvalidParameterError(f"plotly cannot save a figure as {ext!r}: {exc}") from exc


def log_figure(
    repo_or_uri: RepoOrUri, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Store a matplotlib or plotly figure; the extension of `artifact_file` picks the format.

    Args:
        repo_or_uri ([`ArtifactRepository`] or `str`): destination repository or artifact root URI.
        figure (`matplotlib.figure.Figure`, `matplotlib.axes.Axes` or `plotly.graph_objects.Figure`): the
            figure.
        artifact_file (`str`): e.g. `"training_curve.png"`, `"curve.svg"`, `"curve.html"` (plotly).
        save_kwargs (`dict`, *optional*): extra arguments of `savefig` (matplotlib) or
            `to_html`/`to_image` (plotly), e.g. `{"dpi": 200}`.
    """
    name = validate_artifact_path(artifact_file, what="artifact_file", allow_empty=False)
    data = _figure_bytes(figure, _extension(name), dict(save_kwargs or {}))
    as_repository(repo_or_uri).write_bytes(data, name)
