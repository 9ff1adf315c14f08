"""Logged models, datasets, run inputs and outputs on the SQL store (a mixin of `SqlTrackingStore`).

Searching models by a metric reads ``logged_model_metrics``: per model, the point at the highest step
for that key (and dataset, when one is named), so "the best checkpoint of a sweep by eval_loss" is one
statement with a window function, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ...entities import (
    Dataset,
    DatasetInput,
    DatasetSummary,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    RunInputs,
    RunOutputs,
)
from ...entities.dataset import CONTEXT_TAG
from ...entities.registry import MODEL_VERSIONS_TAG, with_version_listed
from ...exceptions import InvalidParameterError, InvalidStateError, ResourceNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

MAX_SEARCH_RESULTS = 10_000
_IN_CHUNK = 500


def _now_ms() -> int:
    return int(time.time() * 1000)


def new_model_id() -> str:
    return f"m-{uuid.uuid4().hex}"


def _random_model_name() -> str:
    adjectives = ("bright", "calm", "eager", "gentle", "keen", "lucid", "nimble", "quiet", "swift", "witty")
    nouns = ("falcon", "otter", "lynx", "heron", "panda", "koala", "tiger", "whale", "raven", "bison")
    return f"{random.choice(adjectives)}-{random.choice(nouns)}-{random.randint(100, 999)}"


def _kv(items: Any) -> list[tuple[str, str]]:
    """Params or tags given as a dict, or as objects/dicts with ``key`` and ``value``."""
    if items is None:
        return []
    if isinstance(items, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in items.items()]
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append((str(item["key"]), str(item.get("value", ""))))
        else:
            out.append((str(item.key), str(item.value)))
    return out


def _check_key(kind: str, key: str) -> None:
    if not key or len(key) > 255:
        raise InvalidParameterError(f"Invalid {kind} key {key!r}: give a non-empty string of at most 255 characters")


class LoggedModelSqlMixin:
    """Methods for `SqlTrackingStore`; they use its ``_write``, ``_read``, ``_exp_id`` helpers."""

    engine: Any
    default_artifact_root: str

    # ---- logged models ------------------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Any = None,
        params: Any = None,
        model_type: str | None = None,
        artifact_location: str | None = None,
        output_step: int | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model; its files go under ``<experiment>/models/<id>/artifacts``
        unless ``artifact_location`` names a folder inside the source run's artifacts (where
        ``log_model`` writes). With ``output_step``, the run lists it among its outputs (one transaction)."""
        import sqlalchemy as sa

        from .logged_model_schema import logged_model_params, logged_model_tags, logged_models
        from .schema import experiments, runs

        exp_id = self._exp_id(experiment_id)  # type: ignore[attr-defined]
        if name is not None and (not isinstance(name, str) or len(name) > 500):
            raise InvalidParameterError(f"Invalid logged model name {name!r}: give a string of at most 500 characters")
        model_id = new_model_id()
        name = name or _random_model_name()
        param_rows = _kv(params)
        tag_rows = _kv(tags)
        for key, _ in param_rows:
            _check_key("param", key)
        for key, _ in tag_rows:
            _check_key("tag", key)
        now = _now_ms()
        with self._write() as conn:  # type: ignore[attr-defined]
            exp = conn.execute(
                sa.select(experiments.c.artifact_location, experiments.c.lifecycle_stage).where(
                    experiments.c.experiment_id == exp_id
                )
            ).first()
            if exp is None:
                raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}")
            if exp[1] != LifecycleStage.ACTIVE:
                raise InvalidStateError(f"Experiment {experiment_id!r} is deleted: restore it before logging models")
            run = None
            if source_run_id and (artifact_location is not None or output_step is not None):
                # MLflow records any source_run_id as given; a run whose folder or outputs it uses must exist
                run = conn.execute(
                    sa.select(runs.c.experiment_id, runs.c.artifact_uri).where(runs.c.run_uuid == source_run_id)
                ).first()
                if run is None:
                    raise ResourceNotFoundError(f"No run with id {source_run_id!r} (source_run_id)")
            if artifact_location is not None:
                _check_inside_run(artifact_location, run)
            location = artifact_location or "/".join([exp[0].rstrip("/"), "models", model_id, "artifacts"])
            conn.execute(
                logged_models.insert().values(
                    model_id=model_id,
                    experiment_id=exp_id,
                    name=name,
                    artifact_location=location,
                    creation_timestamp_ms=now,
                    last_updated_timestamp_ms=now,
                    status=LoggedModelStatus.PENDING,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    model_type=model_type or None,
                    source_run_id=source_run_id or None,
                )
            )
            if param_rows:
                conn.execute(
                    logged_model_params.insert(),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in dict(param_rows).items()],
                )
            if tag_rows:
                conn.execute(
                    logged_model_tags.insert(),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in dict(tag_rows).items()],
                )
            if output_step is not None and source_run_id:
                conn.exec_driver_sql(
                    self._sql("INSERT INTO run_outputs (run_uuid, model_id, step) VALUES (?, ?, ?)"),  # type: ignore[attr-defined]
                    (source_run_id, model_id, int(output_step)),
                )
        return LoggedModel(
            model_id=model_id,
            experiment_id=str(exp_id),
            name=name,
            artifact_location=location,
            creation_timestamp=now,
            last_updated_timestamp=now,
            status=LoggedModelStatus.PENDING,
            model_type=model_type or None,
            source_run_id=source_run_id or None,
            params=dict(param_rows),
            tags=dict(tag_rows),
        )

    def _load_models(self, conn: Connection, model_ids: list[str]) -> dict[str, LoggedModel]:
        import sqlalchemy as sa

        from .logged_model_schema import logged_model_metrics, logged_model_params, logged_model_tags, logged_models

        out: dict[str, LoggedModel] = {}
        for i in range(0, len(model_ids), _IN_CHUNK):
            chunk = model_ids[i : i + _IN_CHUNK]
            for r in conn.execute(sa.select(logged_models).where(logged_models.c.model_id.in_(chunk))):
                out[r.model_id] = LoggedModel(
                    model_id=r.model_id,
                    experiment_id=str(r.experiment_id),
                    name=r.name,
                    artifact_location=r.artifact_location,
                    creation_timestamp=r.creation_timestamp_ms,
                    last_updated_timestamp=r.last_updated_timestamp_ms,
                    status=r.status,
                    model_type=r.model_type,
                    source_run_id=r.source_run_id,
                    status_message=r.status_message,
                )
            for table, attr in ((logged_model_params, "params"), (logged_model_tags, "tags")):
                for mid, key, value in conn.execute(
                    sa.select(table.c.model_id, table.c.key, table.c.value).where(table.c.model_id.in_(chunk))
                ):
                    getattr(out[mid], attr)[key] = value
            mm = logged_model_metrics.c
            for r in conn.execute(
                sa.select(logged_model_metrics).where(mm.model_id.in_(chunk)).order_by(mm.model_id, mm.key, mm.step)
            ):
                out[r.model_id].metrics.append(
                    Metric(
                        r.key,
                        math.nan if r.is_nan else r.value,
                        r.timestamp,
                        r.step,
                        r.dataset_name or None,
                        r.dataset_digest or None,
                        r.model_id,
                        r.run_uuid,
                    )
                )
        return out

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        import sqlalchemy as sa

        from .logged_model_schema import logged_models

        with self._read() as conn:  # type: ignore[attr-defined]
            stage = conn.execute(
                sa.select(logged_models.c.lifecycle_stage).where(logged_models.c.model_id == model_id)
            ).scalar()
            if stage is None or (stage != LifecycleStage.ACTIVE and not allow_deleted):
                raise ResourceNotFoundError(f"Logged model with ID {model_id!r} not found")
            return self._load_models(conn, [model_id])[model_id]

    def _touch_model(self, conn: Connection, model_id: str, **values: Any) -> None:
        from .logged_model_schema import logged_models

        res = conn.execute(
            logged_models.update()
            .where(logged_models.c.model_id == model_id, logged_models.c.lifecycle_stage == LifecycleStage.ACTIVE)
            .values(last_updated_timestamp_ms=_now_ms(), **values)
        )
        if res.rowcount == 0:
            raise ResourceNotFoundError(f"Logged model with ID {model_id!r} not found")

    def finalize_logged_model(
        self, model_id: str, status: Any, status_message: str | None = None, read_back: bool = True
    ) -> LoggedModel | None:
        status = LoggedModelStatus.parse(status)
        if status == LoggedModelStatus.PENDING:
            raise InvalidParameterError("finalize_logged_model: give status READY or FAILED, not PENDING")
        with self._write() as conn:  # type: ignore[attr-defined]
            self._touch_model(conn, model_id, status=status, status_message=status_message)
        return self.get_logged_model(model_id) if read_back else None

    def delete_logged_model(self, model_id: str) -> None:
        with self._write() as conn:  # type: ignore[attr-defined]
            self._touch_model(conn, model_id, lifecycle_stage=LifecycleStage.DELETED)

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        rows = dict(_kv(tags))
        for key in rows:
            _check_key("tag", key)
        with self._write() as conn:  # type: ignore[attr-defined]
            self._touch_model(conn, model_id)
            if rows:
                conn.exec_driver_sql(
                    self._sql(  # type: ignore[attr-defined]
                        "INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
                    ),
                    [(model_id, k, v) for k, v in rows.items()],
                )

    def list_model_version(self, model_id: str, name: str, version: int) -> None:
        """Add a registered version to the model's ``mlflow.modelVersions`` tag in one transaction: the
        model's row is updated first (a row lock on PostgreSQL; SQLite's write transaction is exclusive),
        so concurrent registrations from one model each see the entries added before theirs."""
        import sqlalchemy as sa

        from .logged_model_schema import logged_model_tags

        t = logged_model_tags.c
        where = (t.model_id == model_id) & (t.key == MODEL_VERSIONS_TAG)
        with self._write() as conn:  # type: ignore[attr-defined]
            self._touch_model(conn, model_id)
            value = with_version_listed(conn.execute(sa.select(t.value).where(where)).scalar(), name, version)
            if (
                value is not None
                and conn.execute(logged_model_tags.update().where(where).values(value=value)).rowcount == 0
            ):
                conn.execute(logged_model_tags.insert().values(model_id=model_id, key=MODEL_VERSIONS_TAG, value=value))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        from .logged_model_schema import logged_model_tags

        with self._write() as conn:  # type: ignore[attr-defined]
            self._touch_model(conn, model_id)
            t = logged_model_tags.c
            res = conn.execute(logged_model_tags.delete().where(t.model_id == model_id, t.key == key))
            if res.rowcount == 0:
                raise ResourceNotFoundError(f"No tag with key {key!r} found on logged model {model_id!r}")

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        """Params are write-once, as on runs: the same value again is accepted, another value is an error."""
        import sqlalchemy as sa

        from .logged_model_schema import logged_model_params

        rows = dict(_kv(params))
        for key in rows:
            _check_key("param", key)
        with self._write() as conn:  # type: ignore[attr-defined]
            self._touch_model(conn, model_id)
            p = logged_model_params.c
            existing = dict(
                conn.execute(sa.select(p.key, p.value).where(p.model_id == model_id, p.key.in_(list(rows)))).all()
            )
            for key, value in existing.items():
                if rows[key] != value:
                    raise InvalidParameterError(
                        f"Param {key!r} of logged model {model_id!r} is already {value!r}: params cannot change "
                        f"(got {rows[key]!r})"
                    )
            new = [{"model_id": model_id, "key": k, "value": v} for k, v in rows.items() if k not in existing]
            if new:
                conn.execute(logged_model_params.insert(), new)

    def insert_model_metrics(self, conn: Connection, run_id: str | None, metrics: Iterable[Metric]) -> None:
        """Link metric points to their logged models (called inside the run's metric batch)."""
        linked = [m for m in metrics if m.model_id]
        if not linked:
            return
        ids = sorted({m.model_id for m in linked})  # type: ignore[type-var]
        marks = ", ".join(["?"] * len(ids))
        found = {
            r[0]
            for r in conn.exec_driver_sql(
                self._sql(f"SELECT model_id FROM logged_models WHERE model_id IN ({marks})"),  # type: ignore[attr-defined]
                tuple(ids),
            )
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise ResourceNotFoundError(f"No logged model with id {missing[0]!r} (model_id of a metric)")
        rows = {}
        for m in linked:
            is_nan = m.value != m.value
            rows[(m.model_id, m.key, m.step, m.dataset_name or "", m.dataset_digest or "")] = (
                m.model_id,
                m.key,
                m.step,
                m.dataset_name or "",
                m.dataset_digest or "",
                0.0 if is_nan else m.value,
                m.timestamp,
                is_nan,
                m.run_id or run_id,
            )
        conn.exec_driver_sql(
            self._sql(  # type: ignore[attr-defined]
                "INSERT INTO logged_model_metrics (model_id, key, step, dataset_name, dataset_digest, value, "
                "timestamp, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model_id, key, step, dataset_name, dataset_digest) DO UPDATE SET "
                "value = excluded.value, timestamp = excluded.timestamp, is_nan = excluded.is_nan, "
                "run_uuid = excluded.run_uuid"
            ),
            list(rows.values()),
        )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict] | None = None,
        max_results: int | None = None,
        order_by: Sequence[Any] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        from ...tracking.logged_model_order import parse_model_order_by
        from ...tracking.search import decode_page_token, encode_page_token
        from .logged_model_search import logged_models_select

        if not experiment_ids:
            raise InvalidParameterError("search_logged_models: give at least one experiment id (experiment_ids)")
        max_results = 100 if max_results is None else int(max_results)
        if not 1 <= max_results <= MAX_SEARCH_RESULTS:
            raise InvalidParameterError(
                f"Invalid max_results={max_results}: give a number between 1 and {MAX_SEARCH_RESULTS}"
            )
        offset = decode_page_token(page_token)
        stmt = logged_models_select(
            [self._exp_id(e) for e in experiment_ids],  # type: ignore[attr-defined]
            filter_string,
            datasets,
            parse_model_order_by(order_by),
            max_results + 1,
            offset,
        )
        with self._read() as conn:  # type: ignore[attr-defined]
            ids = [r[0] for r in conn.execute(stmt)]
            has_more = len(ids) > max_results
            ids = ids[:max_results]
            loaded = self._load_models(conn, ids)
        return PagedList(
            [loaded[i] for i in ids if i in loaded], encode_page_token(offset + max_results) if has_more else None
        )

    # ---- run inputs and outputs ---------------------------------------------------------------
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record datasets (deduplicated per experiment by name and digest) and models a run read.

        Plain SQL (a Trainer logs its datasets at train begin: `SqlTrackingStore._driver_write`).
        """
        sql = self._sql  # type: ignore[attr-defined]
        with self._driver_write() as conn:  # type: ignore[attr-defined]
            self._check_run_active(conn, run_id)  # type: ignore[attr-defined]
            exp_id = conn.exec_driver_sql(sql("SELECT experiment_id FROM runs WHERE run_uuid = ?"), (run_id,)).scalar()
            for item in datasets or ():
                ds = item.dataset
                _check_dataset(ds)
                row = conn.exec_driver_sql(
                    sql("SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?"),
                    (exp_id, ds.name, ds.digest),
                ).first()
                if row is None:
                    dataset_uuid = uuid.uuid4().hex
                    conn.exec_driver_sql(
                        sql(
                            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, "
                            "schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        ),
                        (dataset_uuid, exp_id, ds.name, ds.digest, ds.source_type, ds.source, ds.schema, ds.profile),
                    )
                else:
                    dataset_uuid = row[0]
                input_uuid = self._input_row(conn, run_id, "DATASET", dataset_uuid)
                if item.tags:
                    conn.exec_driver_sql(
                        sql(
                            "INSERT INTO input_tags (input_uuid, key, value) VALUES (?, ?, ?) "
                            "ON CONFLICT (input_uuid, key) DO UPDATE SET value = excluded.value"
                        ),
                        [(input_uuid, t.key, t.value) for t in item.tags],
                    )
            for model in models or ():
                found = conn.exec_driver_sql(sql("SELECT 1 FROM logged_models WHERE model_id = ?"), (model.model_id,))
                if found.first() is None:
                    raise ResourceNotFoundError(f"No logged model with id {model.model_id!r} (models[].model_id)")
                self._input_row(conn, run_id, "MODEL", model.model_id)

    def _input_row(self, conn: Connection, run_id: str, source_type: str, source_id: str) -> str:
        sql = self._sql  # type: ignore[attr-defined]
        row = conn.exec_driver_sql(
            sql("SELECT input_uuid FROM run_inputs WHERE run_uuid = ? AND source_type = ? AND source_id = ?"),
            (run_id, source_type, source_id),
        ).first()
        if row is not None:
            return str(row[0])
        input_uuid = uuid.uuid4().hex
        conn.exec_driver_sql(
            sql("INSERT INTO run_inputs (input_uuid, source_type, source_id, run_uuid) VALUES (?, ?, ?, ?)"),
            (input_uuid, source_type, source_id, run_id),
        )
        return input_uuid

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        import sqlalchemy as sa

        from .logged_model_schema import logged_models

        with self._write() as conn:  # type: ignore[attr-defined]
            self._check_run_active(conn, run_id)  # type: ignore[attr-defined]
            for m in models:
                if (
                    conn.execute(
                        sa.select(logged_models.c.model_id).where(logged_models.c.model_id == m.model_id)
                    ).first()
                    is None
                ):
                    raise ResourceNotFoundError(f"No logged model with id {m.model_id!r} (models[].model_id)")
            if models:
                conn.exec_driver_sql(
                    self._sql(  # type: ignore[attr-defined]
                        "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES (?, ?, ?) "
                        "ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step"
                    ),
                    [(run_id, m.model_id, int(m.step or 0)) for m in models],
                )

    def load_run_io(self, conn: Connection, run_ids: list[str]) -> dict[str, tuple[RunInputs, RunOutputs]]:
        """The inputs and outputs of at most ``_IN_CHUNK`` runs (for `get_run` and `search_runs`), in plain SQL."""
        from .history import fetch_raw

        out = {rid: (RunInputs(), RunOutputs()) for rid in run_ids}
        if not run_ids:
            return out
        ph = self._ph  # type: ignore[attr-defined]
        marks = ", ".join([ph] * len(run_ids))
        rows = fetch_raw(
            conn,
            "SELECT ri.input_uuid, ri.run_uuid, ri.source_type, ri.source_id, d.name, d.digest, d.source_type, "
            "d.source, d.schema, d.profile FROM run_inputs AS ri LEFT OUTER JOIN datasets AS d "
            f"ON ri.source_type = 'DATASET' AND d.dataset_uuid = ri.source_id WHERE ri.run_uuid IN ({marks}) "
            "ORDER BY ri.run_uuid, ri.source_type, ri.input_uuid",
            tuple(run_ids),
        )
        tags: dict[str, list[InputTag]] = {}
        input_ids = [r[0] for r in rows if r[2] == "DATASET"]
        for i in range(0, len(input_ids), _IN_CHUNK):
            chunk = tuple(input_ids[i : i + _IN_CHUNK])
            for input_uuid, key, value in fetch_raw(
                conn,
                f"SELECT input_uuid, key, value FROM input_tags WHERE input_uuid IN ({', '.join([ph] * len(chunk))})",
                chunk,
            ):
                tags.setdefault(input_uuid, []).append(InputTag(key, value))
        for input_uuid, run_uuid, source_type, source_id, name, digest, ds_type, source, schema, profile in rows:
            inputs = out[run_uuid][0]
            if source_type == "MODEL":
                inputs.model_inputs.append(LoggedModelInput(source_id))
            elif name is not None:
                ds = Dataset(name, digest, ds_type, source, schema, profile)
                inputs.dataset_inputs.append(DatasetInput(ds, tags.get(input_uuid, [])))
        for run_uuid, step, model_id in fetch_raw(
            conn,
            f"SELECT run_uuid, step, model_id FROM run_outputs WHERE run_uuid IN ({marks}) ORDER BY step, model_id",
            tuple(run_ids),
        ):
            out[run_uuid][1].model_outputs.append(LoggedModelOutput(model_id, step))
        return out

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """The datasets the runs of these experiments read, one row per (dataset, context)."""
        import sqlalchemy as sa

        from .logged_model_schema import datasets, input_tags, run_inputs

        d, ri = datasets.c, run_inputs.c
        ctx = input_tags.alias("ctx")
        stmt = (
            sa.select(d.experiment_id, d.name, d.digest, ctx.c.value)
            .select_from(
                datasets.join(
                    run_inputs, sa.and_(ri.source_type == "DATASET", ri.source_id == d.dataset_uuid)
                ).outerjoin(ctx, sa.and_(ctx.c.input_uuid == ri.input_uuid, ctx.c.key == CONTEXT_TAG))
            )
            .where(d.experiment_id.in_([self._exp_id(e) for e in experiment_ids]))  # type: ignore[attr-defined]
            .distinct()
            .order_by(d.experiment_id, d.name, d.digest, ctx.c.value)
        )
        with self._read() as conn:  # type: ignore[attr-defined]
            return [DatasetSummary(str(e), n, dg, c) for e, n, dg, c in conn.execute(stmt)]


def _check_inside_run(location: str, run: Any) -> None:
    """A logged model may name its own folder only inside its source run's artifacts: the server
    serves a model's files from its location, so it must never point anywhere else."""
    root = (run.artifact_uri or "").rstrip("/") if run is not None else ""
    rel = location[len(root) + 1 :] if root and location.startswith(root + "/") else ""
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts) or "\\" in rel:
        raise InvalidParameterError(
            f"Invalid artifact_location {location!r}: a logged model's files may only be placed in a folder "
            "inside its source run's artifacts (give source_run_id), or left to the server"
        )


def _check_dataset(ds: Dataset) -> None:
    for field, limit in (("name", 500), ("digest", 36), ("source_type", 36)):
        value = getattr(ds, field)
        if not isinstance(value, str) or not value or len(value) > limit:
            raise InvalidParameterError(
                f"Invalid dataset {field} {value!r}: give a non-empty string of at most {limit} characters"
            )
    if not isinstance(ds.source, str) or not ds.source:
        raise InvalidParameterError(f"Invalid dataset source {ds.source!r}: give a non-empty string (JSON)")
    for field in ("schema", "profile"):
        value = getattr(ds, field)
        if value is not None and not isinstance(value, str):
            raise InvalidParameterError(f"Invalid dataset {field}: give a string (JSON), got {type(value).__name__}")
