"""`Model`: the ``MLmodel`` file, the "identity card" of a saved model; `ModelInfo`: what `log_model` returns.

```
artifact_path: model
flavors:
  python_function: {loader_module: hf_mltrack.pyfunc.model, env: {...}, python_version: 3.11.7, ...}
  pytorch: {...}
hf_mltrack_version: 0.1.0
model_size_bytes: 1234
model_uuid: 3f0c...
run_id: 789...
saved_input_example_info: {artifact_path: input_example.json, type: dataframe, pandas_orient: split}
signature: {inputs: '[...]', outputs: '[...]', params: null}
utc_time_created: '2026-11-26 04:07:00.000000'
```

``MLmodel`` is read with a safe YAML loader only: a ``!!python/object`` tag is refused, never executed.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models.signature import ModelSignature

if TYPE_CHECKING:
    from hf_mltrack.entities import Run

_logger = logging.getLogger(__name__)

MLMODEL_FILE_NAME = "MLmodel"
_LOG_MODEL_HISTORY_TAG = "hf_mltrack.log-model.history"
_MAX_HISTORY_TAG_CHARS = 5000

_KNOWN_KEYS = (
    "artifact_path",
    "run_id",
    "utc_time_created",
    "flavors",
    "signature",
    "saved_input_example_info",
    "model_uuid",
    "hf_mltrack_version",
    "metadata",
    "model_size_bytes",
    "model_id",
)


def _utc_now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class ModelInfo:
    """What `log_model` returns.

    Attributes:
        model_uri (`str`): ``models:/<model_id>`` (MLflow 3); pass it to ``load_model``. The model also
            loads from ``runs:/<run_id>/<artifact_path>``.
        model_id (`str`): the LoggedModel (``m-...``) this call created.
        run_id (`str`): the run the model was logged to.
        artifact_path (`str`): where in the run's artifacts the model lives.
        signature (`ModelSignature`, *optional*): the model's signature.
        flavors (`dict`): the ``flavors`` block of ``MLmodel``.
        registered_model_version (`int`, *optional*): the version created by ``registered_model_name=``.
    """

    model_uri: str
    run_id: str | None
    artifact_path: str | None
    signature: ModelSignature | None
    flavors: dict[str, Any]
    registered_model_version: int | None = None
    model_uuid: str | None = None
    utc_time_created: str | None = None
    hf_mltrack_version: str | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    model_size_bytes: int | None = None
    artifact_uri: str | None = field(default=None, repr=False)
    model_id: str | None = None

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None


class Model:
    """The contents of an ``MLmodel`` file.

    Args:
        artifact_path (`str`, *optional*): the model's path in its run's artifacts.
        run_id (`str`, *optional*): the run it was logged to.
        utc_time_created (`str`, *optional*): defaults to now.
        flavors (`dict`, *optional*): flavor name -> flavor configuration.
        signature (`ModelSignature`, *optional*): inputs, outputs and params.
        saved_input_example_info (`dict`, *optional*): where and how the input example is stored.
        model_uuid (`str`, *optional*): defaults to a new UUID (hex).
        metadata (`dict`, *optional*): user metadata, free-form.
        model_size_bytes (`int`, *optional*): computed by `save` when not set.
        **kwargs: any other top-level keys, kept as they are (files written by other tools round-trip).
    """

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, Any] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        hf_mltrack_version: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        model_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        from hf_mltrack.models.requirements import hf_mltrack_version as _version

        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = str(utc_time_created or _utc_now())
        self.flavors: dict[str, Any] = dict(flavors) if flavors else {}
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.hf_mltrack_version = hf_mltrack_version or _version()
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.model_id = model_id
        self._extra: dict[str, Any] = dict(kwargs)

    # ------------------------------------------------------------------------------------------ flavors
    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) the configuration of flavor ``name``; returns self."""
        self.flavors[name] = params
        return self

    def get_input_schema(self):
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self):
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self):
        return self.signature.params if self.signature is not None else None

    def load_input_example(self, path: str | None = None) -> Any:
        """The saved input example, read from the model folder ``path`` (or a model URI)."""
        from hf_mltrack.models._example import load_input_example

        if self.saved_input_example_info is None:
            return None
        if path is None:
            raise InvalidParameterError("load_input_example needs the model folder (or model URI) as path")
        local = _local_model_dir(path)
        return load_input_example(local, self.saved_input_example_info, self.signature)

    # ----------------------------------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        res: dict[str, Any] = dict(self._extra)
        for key in _KNOWN_KEYS:
            value = getattr(self, key)
            if key == "signature":
                value = value.to_dict() if value is not None else None
            if value is not None or key in ("flavors",):
                res[key] = value
        return res

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_yaml(self, stream: Any = None) -> str | None:
        from hf_mltrack.models._yaml import safe_dump

        text = safe_dump(self.to_dict())
        if stream is None:
            return text
        stream.write(text)
        return None

    def __str__(self) -> str:
        return self.to_yaml() or ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    def save(self, path: str) -> None:
        """Write ``MLmodel`` into the folder ``path`` (computing ``model_size_bytes`` when unset)."""
        from hf_mltrack.models._paths import dir_size

        if os.path.isdir(path):
            if self.model_size_bytes is None:
                self.model_size_bytes = dir_size(path, exclude=(MLMODEL_FILE_NAME,))
            path = os.path.join(path, MLMODEL_FILE_NAME)
        with open(path, "w", encoding="utf-8") as f:
            self.to_yaml(f)

    @classmethod
    def from_dict(cls, model_dict: Mapping[str, Any]) -> Model:
        if not isinstance(model_dict, Mapping):
            raise MlTrackException(f"An MLmodel file holds a mapping, got {type(model_dict).__name__}")
        data = dict(model_dict)
        flavors = data.pop("flavors", None) or {}
        if not isinstance(flavors, dict) or not all(isinstance(v, dict) for v in flavors.values()):
            raise MlTrackException("The 'flavors' of an MLmodel file must map flavor names to mappings")
        signature = data.pop("signature", None)
        if signature is not None:
            signature = ModelSignature.from_dict(signature)
        return cls(flavors=flavors, signature=signature, **data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read an ``MLmodel`` file from a model folder, the file itself, or any model URI.

        Only the ``MLmodel`` file is fetched for remote models. The YAML is parsed with a safe loader that
        refuses Python tags and aliases.
        """
        from hf_mltrack.models._yaml import safe_load_file

        path = os.fspath(path)
        file = _mlmodel_file(path)
        data = safe_load_file(file, "MLmodel file")
        try:
            return cls.from_dict(data)
        except (TypeError, InvalidParameterError) as exc:
            raise MlTrackException(f"Invalid MLmodel file {file!r}: {exc}") from None

    def get_model_info(self, model_uri: str | None = None) -> ModelInfo:
        uri = model_uri or (
            f"runs:/{self.run_id}/{self.artifact_path}" if self.run_id and self.artifact_path is not None else ""
        )
        return ModelInfo(
            model_uri=uri,
            run_id=self.run_id,
            artifact_path=self.artifact_path,
            signature=self.signature,
            flavors=self.flavors,
            model_uuid=self.model_uuid,
            utc_time_created=self.utc_time_created,
            hf_mltrack_version=self.hf_mltrack_version,
            saved_input_example_info=self.saved_input_example_info,
            model_id=self.model_id,
            metadata=self.metadata,
            model_size_bytes=self.model_size_bytes,
        )

    # ---------------------------------------------------------------------------------------- logging
    @classmethod
    def log(
        cls,
        artifact_path: str | None,
        flavor: Any,
        registered_model_name: str | None = None,
        await_registration_for: int = 300,
        metadata: dict[str, Any] | None = None,
        run_id: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        model_type: str | None = None,
        step: int = 0,
        *,
        name: str | None = None,
        **kwargs: Any,
    ) -> ModelInfo:
        """Save a model with ``flavor.save_model`` and log it to a run (the active one by default).

        Args:
            artifact_path (`str`, *optional*): where in the run's artifacts to log it (default ``"model"``).
            flavor: a module (or object) with ``save_model(path=..., hf_mltrack_model=..., **kwargs)``.
            registered_model_name (`str`, *optional*): also register it in the model registry under this name.
            await_registration_for (`int`, *optional*, defaults to 300): seconds to wait for the registration.
            metadata (`dict`, *optional*): free-form metadata written to ``MLmodel``.
            params (`dict`, *optional*), tags (`dict`, *optional*): the LoggedModel's own params and tags.
            model_type (`str`, *optional*): the LoggedModel's type, free-form.
            step (`int`, *optional*, defaults to 0): the step at which the run produced it.
            run_id (`str`, *optional*): log to this run instead of the active (or a new) one.
            name (`str`, *optional*): MLflow 3's name for ``artifact_path``; pass one of the two.
            **kwargs: passed to ``flavor.save_model``.

        Returns:
            `ModelInfo`
        """
        from hf_mltrack.models._artifact_io import staging_dir, upload_dir
        from hf_mltrack.models.uri import get_model_uri

        artifact_path = _artifact_path_arg(artifact_path, name)
        run: Run
        if run_id is None:
            from hf_mltrack.tracking.fluent import _get_or_start_run

            run = _get_or_start_run()
        else:
            from hf_mltrack.tracking import MlTrackClient

            run = MlTrackClient().get_run(run_id)
        from hf_mltrack.models.logged import logged_model_for

        run_id = run.info.run_id
        model = cls(artifact_path=artifact_path, run_id=run_id, metadata=metadata)
        with (
            logged_model_for(run, artifact_path, model, params=params, tags=tags, model_type=model_type, step=step),
            staging_dir(run.info.artifact_uri) as tmp,
        ):
            local_path = os.path.join(tmp, "model")
            flavor.save_model(path=local_path, hf_mltrack_model=model, **kwargs)
            upload_dir(local_path, run.info.artifact_uri, artifact_path, staged=True)
        _record_history(run_id, model)
        get_model_uri(run_id, artifact_path)  # validates the path
        info = model.get_model_info(f"models:/{model.model_id}")
        info.artifact_uri = run.info.artifact_uri.rstrip("/") + "/" + artifact_path
        if registered_model_name is not None:
            info.registered_model_version = _register(info.model_uri, registered_model_name, await_registration_for)
        return info


def _artifact_path_arg(artifact_path: str | None, name: str | None) -> str:
    if artifact_path is not None and name is not None and artifact_path != name:
        raise InvalidParameterError(
            f"Pass the model's location once: artifact_path={artifact_path!r} or name={name!r}, not both"
        )
    path = artifact_path if artifact_path is not None else name if name is not None else "model"
    from hf_mltrack.models.uri import _check_relative

    path = _check_relative(path, path)
    if not path:
        raise InvalidParameterError("artifact_path (name) must be a non-empty relative path, e.g. 'model'")
    return path


def _record_history(run_id: str, model: Model) -> None:
    """Append the model to the run's ``hf_mltrack.log-model.history`` tag (for the UI), best effort."""
    try:
        from hf_mltrack.tracking import MlTrackClient

        client = MlTrackClient()
        current = client.get_run(run_id).data.tags.get(_LOG_MODEL_HISTORY_TAG)
        history = json.loads(current) if current else []
        entry = {
            "run_id": run_id,
            "artifact_path": model.artifact_path,
            "utc_time_created": model.utc_time_created,
            "model_uuid": model.model_uuid,
            "flavors": sorted(model.flavors),
        }
        history.append(entry)
        value = json.dumps(history)
        while len(value) > _MAX_HISTORY_TAG_CHARS and len(history) > 1:
            history.pop(0)
            value = json.dumps(history)
        client.set_tag(run_id, _LOG_MODEL_HISTORY_TAG, value)
    except Exception as exc:  # the model is logged; the history tag is a convenience
        _logger.warning("Could not record the model in the run's %s tag: %s", _LOG_MODEL_HISTORY_TAG, exc)


def _register(model_uri: str, name: str, await_registration_for: int) -> int | None:
    """Register the logged model through ``hf_mltrack.register_model``; returns the new version number."""
    import hf_mltrack

    register_model: Any = getattr(hf_mltrack, "register_model", None)
    if register_model is None:
        try:
            from hf_mltrack.registry import register_model
        except ImportError as exc:
            raise MlTrackException(
                f"registered_model_name={name!r} needs the model registry (hf_mltrack.register_model), which "
                f"is not available in this installation ({exc}). The model was logged at {model_uri!r}; "
                "register it later with hf_mltrack.register_model(model_uri, name)"
            ) from exc
    mv = register_model(model_uri, name, await_registration_for=await_registration_for)
    version = getattr(mv, "version", None)
    return int(version) if version is not None else None


def _mlmodel_file(path: str) -> str:
    """Local path of the ``MLmodel`` file for a folder, the file itself, or a model URI (fetching it)."""
    from hf_mltrack.models._artifact_io import download, local_path_of
    from hf_mltrack.models.uri import resolve_model_uri

    local = local_path_of(path)
    if local is not None:
        if os.path.isdir(local):
            local = os.path.join(local, MLMODEL_FILE_NAME)
        if not os.path.isfile(local):
            raise MlTrackException(f"No MLmodel file at {path!r}: is it a model folder saved by hf_mltrack?")
        return local
    location = resolve_model_uri(path)
    local = local_path_of(location)
    if local is not None:
        return _mlmodel_file(local)
    return download(location.rstrip("/") + "/" + MLMODEL_FILE_NAME)


def _local_model_dir(path: str) -> str:
    from hf_mltrack.models.uri import download_model

    return download_model(path)
