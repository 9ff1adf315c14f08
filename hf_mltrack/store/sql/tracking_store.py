"""The SQL tracking store (SQLAlchemy 2 Core) for SQLite and PostgreSQL.

Hot paths (metric batches, history reads) go through ``exec_driver_sql`` with plain tuples: the
driver's ``executemany`` in one transaction, no per-row ORM or type-processing overhead.

What a training run does (open a store, get or create its experiment, create the run, log params,
tags, metrics and dataset inputs, end it) is plain SQL only, in transactions from `_driver_write` /
`_driver_read`: on a local SQLite file they run on the sqlite3 module directly (`sqlite_direct`), so
a training process never imports SQLAlchemy; the rest uses the engine (`_write` / `_read`), made on
first use.
"""

from __future__ import annotations

import functools
import math
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Sequence
from itertools import chain, groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from ...entities import (
    Experiment,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from ...entities.metric import PointColumns
from ...exceptions import (
    InvalidParameterError,
    InvalidStateError,
    MlTrackException,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    run_not_active,
    run_not_found,
)
from ..base import AbstractStore
from .bulk import insert_columns, insert_rows, pipelined
from .history import MetricHistory, downsample_select, fetch_raw, read_points
from .logged_model_store import LoggedModelSqlMixin
from .sqlite_direct import Database, local_path

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

RUN_NAME_TAG = "hf_mltrack.runName"
_EXPERIMENT_COLUMNS = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"
_IN_CHUNK = 500
_LATEST_COLUMNS = ("run_uuid", "key", "step", "value", "timestamp", "is_nan")
_LATEST_PG_TYPES = ("text", "text", "bigint", "float8", "bigint", "boolean")  # the unnest bulk path
_POINT_COLUMNS = ("series_id", "step", "timestamp", "value")
_POINT_PG_TYPES = ("integer", "bigint", "bigint", "float8")
_POINT_UPSERT = " ON CONFLICT (series_id, step) DO UPDATE SET timestamp = excluded.timestamp, value = excluded.value"
_SERIES_COLUMNS = ("run_uuid", "key", "model_id", "dataset_name", "dataset_digest")
_SERIES_CACHE_LIMIT = 200_000  # cached series ids per store (cleared, not evicted one by one, past it)
_KEY = itemgetter(0)
_VALUE = itemgetter(1)
_TIMESTAMP = itemgetter(2)
_STEP = itemgetter(3)
_DATASET = itemgetter(4)
_DIGEST = itemgetter(5)
_MODEL = itemgetter(6)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


class SqlTrackingStore(LoggedModelSqlMixin, AbstractStore):
    """Tracking store on a SQL database.

    Args:
        db_uri (`str`): SQLAlchemy URI (``sqlite:///...``, ``postgresql://...``).
        default_artifact_root (`str`, *optional*): artifact root for new experiments; defaults to
            ``artifacts/`` beside a SQLite file, else ``HF_MLTRACK_DEFAULT_ARTIFACT_ROOT``.
    """

    # Queued metric points may come as plain tuples of `Metric`'s fields, or as a `PointColumns` (the
    # batcher's fast paths): the metric write path reads tuples by position only, and columns as they are.
    takes_point_tuples = True
    takes_point_columns = True

    def __init__(self, db_uri: str, default_artifact_root: str | None = None) -> None:
        from ...tracking._uri import default_artifact_root_for, to_artifact_uri

        self.db_uri = db_uri
        # A local SQLite file: plain SQL on the sqlite3 module, the schema from the stored DDL.
        path = local_path(db_uri)
        self._direct = Database(path) if path is not None else None
        if self._direct is not None:
            self._direct.ensure_schema(db_uri)
        self.dialect = "sqlite" if self._direct is not None else self.engine.dialect.name
        self.default_artifact_root = (
            to_artifact_uri(default_artifact_root) if default_artifact_root else default_artifact_root_for(db_uri)
        )
        self._ph = "?" if self.dialect == "sqlite" else "%s"
        # (run_id, key, model_id, dataset_name, dataset_digest) -> series_id, for committed series only
        # ('' for no model or dataset). Ids never change while the run exists; `hard_delete_run` forgets them.
        self._series: dict[tuple[str, str, str, str, str], int] = {}
        self._create_default_experiment()

    # ---- helpers --------------------------------------------------------------------------
    @functools.cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (one per URI per process; the schema created or checked on first use)."""
        from .engine import get_engine

        return get_engine(self.db_uri)

    @functools.cached_property
    def _write_engine(self) -> Engine:
        return self.engine.execution_options(hf_write=True)  # built once: each call makes a new proxy

    def _write(self):  # type: ignore[no-untyped-def]
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        return self._write_engine.begin()

    def _read(self):  # type: ignore[no-untyped-def]
        return self.engine.connect()

    def _driver_write(self):  # type: ignore[no-untyped-def]
        """A write transaction for plain SQL only (``exec_driver_sql``, the driver's cursor): on a local
        SQLite file, on the sqlite3 module without SQLAlchemy (`sqlite_direct`)."""
        return self._direct.begin(write=True) if self._direct is not None else self._write()

    def _driver_read(self):  # type: ignore[no-untyped-def]
        """A read for plain SQL only (see `_driver_write`)."""
        return self._direct.begin(write=False) if self._direct is not None else self._read()

    def _create_default_experiment(self) -> None:
        """The "Default" experiment (id 0) under the default artifact root, unless it exists (or another
        process creates it at the same time)."""
        now = _now_ms()
        with self._driver_write() as conn:
            conn.exec_driver_sql(
                self._sql(
                    f"INSERT INTO experiments ({_EXPERIMENT_COLUMNS}) VALUES (0, 'Default', ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING"
                ),
                (_join(self.default_artifact_root, "0"), LifecycleStage.ACTIVE, now, now),
            )

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._ph) if self._ph != "?" else statement

    @staticmethod
    def _exp_id(experiment_id: str | int) -> int:
        try:
            return int(experiment_id)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"Invalid experiment id {experiment_id!r}: experiment ids are integers given as strings, e.g. '0'"
            ) from None

    # ---- experiments -------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        from ...tracking._uri import to_artifact_uri

        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError(f"Invalid experiment name {name!r}: give a non-empty string")
        now = _now_ms()
        by_name = self._sql("SELECT experiment_id FROM experiments WHERE name = ?")
        try:
            with self._driver_write() as conn:
                if conn.exec_driver_sql(by_name, (name,)).first():
                    raise ResourceAlreadyExistsError(
                        f"Experiment {name!r} already exists: use get_experiment_by_name({name!r}) or another name"
                    )
                conn.exec_driver_sql(
                    self._sql(
                        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, "
                        "last_update_time) VALUES (?, '', ?, ?, ?)"
                    ),
                    (name, LifecycleStage.ACTIVE, now, now),
                )
                exp_id = int(conn.exec_driver_sql(by_name, (name,)).first()[0])
                location = (
                    to_artifact_uri(artifact_location)
                    if artifact_location
                    else _join(self.default_artifact_root, str(exp_id))
                )
                conn.exec_driver_sql(
                    self._sql("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?"),
                    (location, exp_id),
                )
                if tags:
                    conn.exec_driver_sql(
                        self._sql("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)"),
                        [(exp_id, k, str(v)) for k, v in tags.items()],
                    )
        except Exception as exc:
            if not _is_integrity_error(exc):
                raise
            raise ResourceAlreadyExistsError(f"Experiment {name!r} already exists") from exc
        return str(exp_id)

    def _experiments(self, conn: Connection, where: str, args: tuple[Any, ...]) -> list[Experiment]:
        """The experiments matching ``where`` (plain SQL on ``experiments``, ``?`` placeholders), with their tags."""
        rows = fetch_raw(conn, self._sql(f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE {where}"), args)
        if not rows:
            return []
        ids = [r[0] for r in rows]
        tag_map: dict[int, dict[str, str]] = {i: {} for i in ids}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = tuple(ids[i : i + _IN_CHUNK])
            marks = ", ".join([self._ph] * len(chunk))
            for exp_id, key, value in fetch_raw(
                conn, f"SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ({marks})", chunk
            ):
                tag_map[exp_id][key] = value
        return [
            Experiment(
                experiment_id=str(exp_id),
                name=name,
                artifact_location=location,
                lifecycle_stage=stage,
                tags=tag_map[exp_id],
                creation_time=created,
                last_update_time=updated,
            )
            for exp_id, name, location, stage, created, updated in rows
        ]

    def get_experiment(self, experiment_id: str) -> Experiment:
        exp_id = self._exp_id(experiment_id)
        with self._driver_read() as conn:
            found = self._experiments(conn, "experiment_id = ?", (exp_id,))
        if not found:
            raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._driver_read() as conn:
            found = self._experiments(conn, "name = ?", (name,))
        return found[0] if found else None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        from ...tracking.search import (
            decode_page_token,
            encode_page_token,
            parse_experiment_filter,
            parse_experiment_order_by,
        )
        from .search_sql import experiments_select

        _check_max_results(max_results, 50_000)
        offset = decode_page_token(page_token)
        stmt = experiments_select(
            parse_experiment_filter(filter_string),
            parse_experiment_order_by(list(order_by or [])),
            ViewType.stages(ViewType.parse(view_type)),
            max_results + 1,
            offset,
        )
        with self._read() as conn:
            ids = [r[0] for r in conn.execute(stmt)]
            has_more = len(ids) > max_results
            ids = ids[:max_results]
            by_id: dict[int, Experiment] = {}
            for i in range(0, len(ids), _IN_CHUNK):
                chunk = tuple(ids[i : i + _IN_CHUNK])
                found = self._experiments(conn, f"experiment_id IN ({', '.join(['?'] * len(chunk))})", chunk)
                by_id.update((int(e.experiment_id), e) for e in found)
        items = [by_id[i] for i in ids if i in by_id]
        return PagedList(items, encode_page_token(offset + max_results) if has_more else None)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        import sqlalchemy as sa

        from .schema import experiments, runs

        exp_id = self._exp_id(experiment_id)
        with self._write() as conn:
            row = conn.execute(
                sa.select(experiments.c.lifecycle_stage).where(experiments.c.experiment_id == exp_id)
            ).first()
            if row is None:
                raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}")
            if exp_id == 0 and stage == LifecycleStage.DELETED:
                raise InvalidParameterError("The Default experiment (id '0') cannot be deleted")
            conn.execute(
                experiments.update()
                .where(experiments.c.experiment_id == exp_id)
                .values(lifecycle_stage=stage, last_update_time=_now_ms())
            )
            # Runs follow their experiment, as in MLflow.
            conn.execute(
                runs.update()
                .where(runs.c.experiment_id == exp_id)
                .values(
                    lifecycle_stage=stage,
                    deleted_time=_now_ms() if stage == LifecycleStage.DELETED else None,
                )
            )

    def delete_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        import sqlalchemy as sa

        from .schema import experiments

        if not isinstance(new_name, str) or not new_name.strip():
            raise InvalidParameterError(f"Invalid experiment name {new_name!r}: give a non-empty string")
        exp_id = self._exp_id(experiment_id)
        try:
            with self._write() as conn:
                res = conn.execute(
                    experiments.update()
                    .where(experiments.c.experiment_id == exp_id)
                    .values(name=new_name, last_update_time=_now_ms())
                )
                if res.rowcount == 0:
                    raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}")
        except sa.exc.IntegrityError as exc:
            raise ResourceAlreadyExistsError(f"Experiment {new_name!r} already exists") from exc

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        exp_id = self._exp_id(experiment_id)
        self.get_experiment(experiment_id)
        with self._write() as conn:
            conn.exec_driver_sql(
                self._sql(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"
                ),
                (exp_id, key, str(value)),
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        from .schema import experiment_tags

        exp_id = self._exp_id(experiment_id)
        with self._write() as conn:
            conn.execute(
                experiment_tags.delete().where(
                    (experiment_tags.c.experiment_id == exp_id) & (experiment_tags.c.key == key)
                )
            )

    # ---- runs ----------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag],
        run_name: str | None,
        params: Sequence[Param] = (),
        metrics: Sequence[Metric] = (),
        run_id: str | None = None,
    ) -> Run:
        """``run_id``: an id chosen by the client (a uuid4 hex: runs created in the background)."""
        exp_id = self._exp_id(experiment_id)
        run_id = run_id or uuid.uuid4().hex
        tag_map = {t.key: t.value for t in tags}
        run_name = run_name or tag_map.get(RUN_NAME_TAG) or _random_run_name()
        tag_map[RUN_NAME_TAG] = run_name
        with self._driver_write() as conn:
            # Plain driver SQL on this hot path (a run per trial in sweeps): no statement compilation.
            exp = conn.exec_driver_sql(
                self._sql("SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?"),
                (exp_id,),
            ).first()
            if exp is None:
                raise ResourceNotFoundError(
                    f"No experiment with id {experiment_id!r}: create it with create_experiment() or "
                    "set_experiment(name)"
                )
            if exp[1] != LifecycleStage.ACTIVE:
                raise InvalidStateError(
                    f"Experiment {experiment_id!r} is deleted: restore it with restore_experiment({experiment_id!r}) "
                    "before starting runs in it"
                )
            artifact_uri = _join(exp[0], run_id, "artifacts")
            conn.exec_driver_sql(
                self._sql(
                    "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, "
                    "lifecycle_stage, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)"
                ),
                (run_id, run_name, exp_id, user_id, RunStatus.RUNNING, start_time, LifecycleStage.ACTIVE, artifact_uri),
            )
            all_tags = [RunTag(k, v) for k, v in tag_map.items()]
            self._log_batch_conn(conn, run_id, list(metrics), list(params), all_tags)
        info = RunInfo(
            run_id=run_id,
            experiment_id=str(exp_id),
            run_name=run_name,
            user_id=user_id,
            status=RunStatus.RUNNING,
            start_time=start_time,
            end_time=None,
            artifact_uri=artifact_uri,
        )
        latest: dict[str, Metric] = {}
        for m in metrics:
            if m.key not in latest or m.step >= latest[m.key].step:
                latest[m.key] = m
        data = RunData(
            metrics={k: m.value for k, m in latest.items()},
            params={p.key: p.value for p in params},
            tags=dict(tag_map),
            _metric_objs=list(latest.values()),
        )
        return Run(info, data)

    def _load_runs(self, conn: Connection, run_ids: list[str]) -> dict[str, Run]:
        """Runs with their params, tags and latest metrics, read on the driver's own cursor.

        A page of the UI's runs table is 1,000 runs and ~20,000 child rows: plain tuples from
        ``fetchall`` cost a fraction of SQLAlchemy's per-row result objects.
        """
        out: dict[str, Run] = {}
        run_columns = ", ".join(_RunRow._fields)
        for i in range(0, len(run_ids), _IN_CHUNK):
            chunk = tuple(run_ids[i : i + _IN_CHUNK])
            marks = ", ".join([self._ph] * len(chunk))
            datas: dict[str, RunData] = {}
            for r in fetch_raw(conn, f"SELECT {run_columns} FROM runs WHERE run_uuid IN ({marks})", chunk):
                info = _run_info(_RunRow(*r))
                data = RunData()
                datas[info.run_id] = data
                out[info.run_id] = Run(info, data)
            for run_uuid, key, value in fetch_raw(
                conn, f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", chunk
            ):
                datas[run_uuid].params[key] = value
            for run_uuid, key, value in fetch_raw(
                conn, f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", chunk
            ):
                datas[run_uuid].tags[key] = value
            for run_uuid, key, value, step, ts, is_nan in fetch_raw(
                conn,
                f"SELECT run_uuid, key, value, step, timestamp, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})",
                chunk,
            ):
                v = math.nan if is_nan else value
                data = datas[run_uuid]
                data.metrics[key] = v
                data._metric_objs.append(Metric(key, v, ts, step))
            for run_uuid, (inputs, outputs) in self.load_run_io(conn, list(datas)).items():
                out[run_uuid].inputs, out[run_uuid].outputs = inputs, outputs
        return out

    def get_run(self, run_id: str) -> Run:
        with self._driver_read() as conn:
            found = self._load_runs(conn, [run_id])
        if run_id not in found:
            raise run_not_found(run_id)
        return found[run_id]

    def update_run_info(
        self, run_id: str, run_status: str | None, end_time: int | None, run_name: str | None = None
    ) -> RunInfo:
        values: dict[str, Any] = {}
        if run_status is not None:
            values["status"] = RunStatus.validate(run_status)
        if end_time is not None:
            values["end_time"] = end_time
        if run_name is not None:
            values["name"] = run_name
        with self._driver_write() as conn:
            self._check_run_active(conn, run_id)
            if values:
                assignments = ", ".join(f"{column} = ?" for column in values)
                conn.exec_driver_sql(
                    self._sql(f"UPDATE runs SET {assignments} WHERE run_uuid = ?"), (*values.values(), run_id)
                )
            if run_name is not None:
                self._upsert_tags(conn, run_id, [RunTag(RUN_NAME_TAG, run_name)])
            row = fetch_raw(
                conn, self._sql(f"SELECT {', '.join(_RunRow._fields)} FROM runs WHERE run_uuid = ?"), (run_id,)
            )
        return _run_info(_RunRow(*row[0]))

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        from .schema import runs

        with self._write() as conn:
            res = conn.execute(
                runs.update()
                .where(runs.c.run_uuid == run_id)
                .values(lifecycle_stage=stage, deleted_time=_now_ms() if stage == LifecycleStage.DELETED else None)
            )
            if res.rowcount == 0:
                raise run_not_found(run_id)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        import sqlalchemy as sa

        from .schema import runs

        stmt = sa.select(runs.c.run_uuid).where(runs.c.lifecycle_stage == LifecycleStage.DELETED)
        if older_than_ms is not None:
            stmt = stmt.where(runs.c.deleted_time <= _now_ms() - older_than_ms)
        with self._read() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def hard_delete_run(self, run_id: str) -> None:
        """Delete a run and everything it logged, in one transaction.

        ``metric_points`` and ``metric_buckets`` have no foreign key (a per-point check would cost more
        than the insert): their rows go here, by the run's series, before the series and the run.
        """
        from .schema import latest_metrics, params, runs, tags

        with self._write() as conn:
            series = self._sql("SELECT series_id FROM metric_series WHERE run_uuid = ?")
            for name in ("metric_buckets", "metric_points"):
                conn.exec_driver_sql(f"DELETE FROM {name} WHERE series_id IN ({series})", (run_id,))
            conn.exec_driver_sql(self._sql("DELETE FROM metric_series WHERE run_uuid = ?"), (run_id,))
            for table in (latest_metrics, params, tags):
                conn.execute(table.delete().where(table.c.run_uuid == run_id))
            conn.execute(runs.delete().where(runs.c.run_uuid == run_id))
        self._series = {k: v for k, v in self._series.items() if k[0] != run_id}

    def delete_tag(self, run_id: str, key: str) -> None:
        from .schema import tags

        with self._write() as conn:
            self._check_run_active(conn, run_id)
            res = conn.execute(tags.delete().where((tags.c.run_uuid == run_id) & (tags.c.key == key)))
            if res.rowcount == 0:
                raise ResourceNotFoundError(f"No tag with name: {key} in run with id {run_id}")

    # ---- batched writes ------------------------------------------------------------------
    def _check_run_active(self, conn: Connection, run_id: str) -> None:
        row = conn.exec_driver_sql(self._sql("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?"), (run_id,)).first()
        _check_stage(run_id, row[0] if row is not None else None)

    def _check_run_and_last_steps(self, conn: Connection, run_id: str, metrics: list[Metric]) -> dict[str, int]:
        """`_check_run_active` and `_stored_last_steps` of the batch's keys in one query (one round trip
        less per log-batch on a database server)."""
        keys = list(metrics.series) if type(metrics) is PointColumns else list(set(map(_KEY, metrics)))
        if len(keys) > _IN_CHUNK:
            self._check_run_active(conn, run_id)
            return self._stored_last_steps(conn, run_id, keys)
        marks = ", ".join([self._ph] * len(keys))
        rows = conn.exec_driver_sql(
            "SELECT r.lifecycle_stage, l.key, l.step FROM runs AS r LEFT JOIN latest_metrics AS l "
            f"ON l.run_uuid = r.run_uuid AND l.key IN ({marks}) WHERE r.run_uuid = {self._ph}",
            (*keys, run_id),
        ).fetchall()
        _check_stage(run_id, rows[0][0] if rows else None)
        return {key: step for _, key, step in rows if key is not None}

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        batch = (list(metrics), list(params), list(tags))
        self.log_batches_and_terminate({run_id: batch}, None)

    def log_batches(self, batches: dict[str, tuple[list[Metric], list[Param], list[RunTag]]]) -> None:
        self.log_batches_and_terminate(batches, None)

    def log_batches_and_terminate(
        self,
        batches: dict[str, tuple[list[Metric], list[Param], list[RunTag]]],
        terminate: tuple[str, str, int] | None,
    ) -> None:
        """Write batches and, in the same transaction, end run ``terminate = (run_id, status, end_time)``.

        ``end_run`` uses it to write a run's last points and its final status with one commit.
        """
        try:
            self._log_batches(batches, terminate, appending=True)
        except Exception as exc:
            if not _is_point_conflict(exc):
                raise
            # Another transaction appended the same steps since this one read the series' end (two
            # writers of one run on PostgreSQL): again, as an overwrite, which is what it is.
            self._log_batches(batches, terminate, appending=False)

    def _log_batches(
        self,
        batches: dict[str, tuple[list[Metric], list[Param], list[RunTag]]],
        terminate: tuple[str, str, int] | None,
        appending: bool,
    ) -> None:
        with self._driver_write() as conn:
            for run_id, (metrics, params, tags) in batches.items():
                if metrics:
                    stored_last = self._check_run_and_last_steps(conn, run_id, metrics)
                    self._log_batch_conn(conn, run_id, [], params, tags)
                    self._insert_metrics(conn, run_id, metrics, appending, stored_last)
                else:
                    self._check_run_active(conn, run_id)
                    self._log_batch_conn(conn, run_id, metrics, params, tags)
            if terminate is not None:
                run_id, status, end_time = terminate
                self._check_run_active(conn, run_id)
                conn.exec_driver_sql(
                    self._sql("UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?"),
                    (RunStatus.validate(status), end_time, run_id),
                )

    def _log_batch_conn(
        self, conn: Connection, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]
    ) -> None:
        if params:
            self._insert_params(conn, run_id, params)
        if tags:
            self._upsert_tags(conn, run_id, tags)
        if metrics:
            self._insert_metrics(conn, run_id, metrics)

    def _insert_params(self, conn: Connection, run_id: str, params: list[Param]) -> None:
        wanted: dict[str, str] = {}
        for p in params:
            if p.key in wanted and wanted[p.key] != p.value:
                raise InvalidParameterError(_param_conflict(run_id, p.key, wanted[p.key], p.value))
            wanted[p.key] = p.value
        keys = list(wanted)
        existing: dict[str, str] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i : i + _IN_CHUNK]
            marks = ", ".join([self._ph] * len(chunk))
            for key, value in conn.exec_driver_sql(
                f"SELECT key, value FROM params WHERE run_uuid = {self._ph} AND key IN ({marks})",
                (run_id, *chunk),
            ):
                existing[key] = value
        for key, value in existing.items():
            if wanted[key] != value:
                raise InvalidParameterError(_param_conflict(run_id, key, value, wanted[key]))
        new_rows = [(run_id, k, v) for k, v in wanted.items() if k not in existing]
        if new_rows:
            conn.exec_driver_sql(self._sql("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)"), new_rows)

    def _upsert_tags(self, conn: Connection, run_id: str, tags: list[RunTag]) -> None:
        rows = list({t.key: (run_id, t.key, t.value) for t in tags}.values())
        conn.exec_driver_sql(
            self._sql(
                "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value"
            ),
            rows,
        )
        for t in tags:
            if t.key == RUN_NAME_TAG:
                conn.exec_driver_sql(self._sql("UPDATE runs SET name = ? WHERE run_uuid = ?"), (t.value, run_id))

    def _insert_metrics(
        self,
        conn: Connection,
        run_id: str,
        metrics: list[Metric],
        appending: bool = False,
        stored_last: dict[str, int] | None = None,
    ) -> None:
        """Points go to ``metric_points`` as (series_id, step, timestamp, value), per series in step order.

        Column-wise: each series' steps, values and timestamps are taken out with ``map(itemgetter)``,
        inserted as columns (`insert_columns`) and summarized a bucket at a time, so little Python runs
        per point. ``appending`` (PostgreSQL): when every series of the batch lies past its stored end,
        a plain INSERT (half the database time of ON CONFLICT's speculative insertion); a concurrent
        writer of the same steps makes it fail with a unique violation, and the caller redoes the batch
        with ``appending=False``.
        """
        from .buckets import merge_appended, recompute_rewritten

        by_series = self._series_columns(conn, run_id, metrics)
        ids = self._series_ids(conn, run_id, list(by_series))
        if stored_last is None:
            stored_last = self._stored_last_steps(conn, run_id, list({s[0] for s in by_series}))
        columns: list[tuple[int, list[int], list[int], list[Any]]] = []  # (series_id, steps, stamps, values)
        latest: dict[str, tuple] = {}
        batch = []
        for series, (steps, stamps, values) in by_series.items():
            key, sid = series[0], ids[series]
            total = sum(values)
            if total != total:  # a NaN (or inf - inf): NaN is stored as NULL
                values = [None if v != v else v for v in values]
            first, last = steps[0], steps[-1]
            # Steps strictly increasing (the usual case: cheap checks first) and past the stored end.
            ordered = last - first == len(steps) - 1 and steps == list(range(first, last + 1))
            if not ordered:
                ordered = len(set(steps)) == len(steps) and steps == sorted(steps)
            if not ordered:  # a later value at the same step wins: keep each step's last point
                at = {step: i for i, step in enumerate(steps)}
                keep = sorted(at.values())
                steps, values, stamps = [steps[i] for i in keep], [values[i] for i in keep], [stamps[i] for i in keep]
            prev = stored_last.get(key)
            batch.append((sid, steps, values, stamps, ordered and (prev is None or first > prev)))
            columns.append((sid, steps, stamps, values))
            top = last if ordered else max(steps)
            cur = latest.get(key)
            # Later points at the same or a higher step win, matching replace-on-conflict.
            if cur is None or top >= cur[2]:
                i = len(steps) - 1 if ordered else steps.index(top)
                v = values[i]
                latest[key] = (run_id, key, top, 0.0 if v is None else v, stamps[i], v is None)
        plain = appending and self.dialect == "postgresql" and all(b[4] for b in batch)
        shared: tuple[int, ...] = ()
        if len(columns) == 1:  # one series: its id is bound once per statement
            shared, data = (columns[0][0],), list(columns[0][1:])
        else:
            data = [list(chain.from_iterable([c[0]] * len(c[1]) for c in columns))]
            data += [list(chain.from_iterable(c[1:][i] for c in columns)) for i in range(3)]
        with pipelined(conn):  # PostgreSQL: the three writes in one round trip
            insert_columns(
                conn,
                "metric_points",
                _POINT_COLUMNS,
                data,
                "" if plain else _POINT_UPSERT,
                pg_types=_POINT_PG_TYPES,
                shared=shared,
            )
            insert_rows(
                conn,
                "latest_metrics",
                _LATEST_COLUMNS,
                list(latest.values()),
                " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, step = excluded.step, "
                "timestamp = excluded.timestamp, is_nan = excluded.is_nan WHERE excluded.step >= latest_metrics.step",
                pg_types=_LATEST_PG_TYPES,
            )
            merge_appended(conn, self._sql, batch)
        recompute_rewritten(conn, self._sql, batch)  # reads the points just written

    def _series_columns(
        self, conn: Connection, run_id: str, metrics: list[Metric] | PointColumns
    ) -> dict[tuple[str, str, str, str], tuple[list[int], list[int], list]]:
        """The batch's (steps, timestamps, values) per series (key, model_id, dataset_name, dataset_digest),
        each in batch order."""
        if isinstance(metrics, PointColumns):  # log_metric's points: already columns of plain keys
            return {(key, "", "", ""): columns for key, columns in metrics.series.items()}
        by_series = self._by_series(conn, run_id, metrics)
        return {
            series: (list(map(_STEP, points)), list(map(_TIMESTAMP, points)), list(map(_VALUE, points)))
            for series, points in by_series.items()
        }

    def _by_series(self, conn: Connection, run_id: str, metrics: list[Metric]) -> dict[tuple[str, str, str, str], list]:
        """The batch's points per series (key, model_id, dataset_name, dataset_digest), each in batch order."""
        # Points about a logged model or a dataset (MLflow 3) form series of their own.
        if any(map(_MODEL, metrics)) or any(map(_DATASET, metrics)) or any(map(_DIGEST, metrics)):
            self.insert_model_metrics(conn, run_id, [m if type(m) is Metric else Metric._make(m) for m in metrics])
            return _group(metrics, lambda m: (m[0], m[6] or "", m[4] or "", m[5] or ""))
        keys = list(map(_KEY, metrics))
        distinct = len(set(keys))
        if distinct == 1:
            return {(keys[0], "", "", ""): metrics}
        n = len(keys)
        if n % distinct == 0 and keys == keys[:distinct] * (n // distinct):
            # The same keys in the same order at every step (log_metrics): each series is a slice.
            return {(key, "", "", ""): metrics[i::distinct] for i, key in enumerate(keys[:distinct])}
        return {(key, "", "", ""): list(points) for key, points in groupby(sorted(metrics, key=_KEY), _KEY)}

    def _series_ids(
        self, conn: Connection, run_id: str, wanted: list[tuple[str, str, str, str]]
    ) -> dict[tuple[str, str, str, str], int]:
        """Series ids for (key, model_id, dataset_name, dataset_digest) of a run, created when new.

        Ids read from the database are cached; ids of series created in this transaction are not (a
        rollback would leave them dangling): the next batch reads them back once, committed, and caches them.
        """
        cache = self._series
        out: dict[tuple[str, str, str, str], int] = {}
        missing = []
        for series in wanted:
            sid = cache.get((run_id, *series))
            if sid is None:
                missing.append(series)
            else:
                out[series] = sid
        if not missing:
            return out
        if len(cache) > _SERIES_CACHE_LIMIT:
            cache.clear()
        found = self._read_series(conn, run_id, missing)
        for series, sid in found.items():
            cache[(run_id, series[0], series[1], series[2], series[3])] = sid
        out.update(found)
        new = [s for s in missing if s not in found]
        if new:
            insert_rows(conn, "metric_series", _SERIES_COLUMNS, [(run_id, *s) for s in new], " ON CONFLICT DO NOTHING")
            out.update(self._read_series(conn, run_id, new))
        return out

    def _read_series(
        self, conn: Connection, run_id: str, wanted: list[tuple[str, str, str, str]]
    ) -> dict[tuple[str, str, str, str], int]:
        wanted_set = set(wanted)
        keys = list({s[0] for s in wanted})
        out: dict[tuple[str, str, str, str], int] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i : i + _IN_CHUNK]
            marks = ", ".join([self._ph] * len(chunk))
            for row in conn.exec_driver_sql(
                "SELECT key, model_id, dataset_name, dataset_digest, series_id FROM metric_series "
                f"WHERE run_uuid = {self._ph} AND key IN ({marks})",
                (run_id, *chunk),
            ):
                series = (row[0], row[1], row[2], row[3])
                if series in wanted_set:
                    out[series] = row[4]
        return out

    def _stored_last_steps(self, conn: Connection, run_id: str, keys: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i : i + _IN_CHUNK]
            marks = ", ".join([self._ph] * len(chunk))
            for key, step in conn.exec_driver_sql(
                f"SELECT key, step FROM latest_metrics WHERE run_uuid = {self._ph} AND key IN ({marks})",
                (run_id, *chunk),
            ):
                out[key] = step
        return out

    # ---- metric reads ----------------------------------------------------------------------
    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        with self._driver_read() as conn:
            rows = read_points(conn, self._sql, run_id, key)
            if not rows:
                self._check_run_exists(conn, run_id)
        return MetricHistory(key, rows)

    def _check_run_exists(self, conn: Connection, run_id: str) -> None:
        if conn.exec_driver_sql(self._sql("SELECT 1 FROM runs WHERE run_uuid = ?"), (run_id,)).first() is None:
            raise run_not_found(run_id)

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        key: str,
        max_results: int,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> dict[str, list[Metric]]:
        rows = self.metric_history_rows(run_ids, key, max_results, start_step, end_step)
        return {run_id: list(MetricHistory(key, r)) for run_id, r in rows.items()}

    def metric_history_rows(
        self,
        run_ids: Sequence[str],
        key: str,
        max_results: int,
        start_step: int | None = None,
        end_step: int | None = None,
        timestamps: bool = True,
    ) -> dict[str, list[tuple]]:
        """`get_metric_history_bulk_interval` as raw ``(step, value or None for NaN, timestamp)`` rows.

        Which series fit whole in ``max_results`` (most charts: a sweep's runs of a few thousand steps)
        is one statement for all runs; those are read on the driver's cursor, longer ones downsampled.
        ``timestamps=False``: whole series are read as ``(step, value)`` (a third fewer values to convert).
        """
        if max_results < 2:
            raise InvalidParameterError(f"max_results={max_results} is too small: ask for at least 2 points per series")
        from .buckets import SHIFTS

        ids = list(dict.fromkeys(run_ids))
        out: dict[str, list[tuple]] = {run_id: [] for run_id in ids}
        top = SHIFTS[-1]
        step_where = bucket_where = ""
        step_args: tuple = ()
        bucket_args: tuple = ()
        for op, bound in ((">=", start_step), ("<=", end_step)):
            if bound is not None:
                step_where += f" AND step {op} ?"
                step_args += (bound,)
                bucket_where += f" AND bucket {op} ?"
                bucket_args += (bound >> top,)
        with self._driver_read() as conn:
            # The key's series of every run (usually one each; more when points name logged models or
            # datasets), then an upper bound of each series' points in range from the coarsest bucket
            # level: what the per-series downsampler checks first (no summaries: read whole, as there).
            series: dict[str, list[int]] = {}
            totals: dict[int, int] = {}
            for i in range(0, len(ids), _IN_CHUNK):
                chunk = tuple(ids[i : i + _IN_CHUNK])
                marks = ", ".join([self._ph] * len(chunk))
                found = fetch_raw(
                    conn,
                    self._sql(
                        f"SELECT run_uuid, series_id FROM metric_series WHERE key = ? AND run_uuid IN ({marks}) "
                        "ORDER BY series_id"
                    ),
                    (key, *chunk),
                )
                for run_id, series_id in found:
                    series.setdefault(run_id, []).append(series_id)
                sids = tuple(sid for _, sid in found)
                if sids:
                    sid_marks = ", ".join([self._ph] * len(sids))
                    for series_id, total in fetch_raw(
                        conn,
                        self._sql(
                            f"SELECT series_id, SUM(count) FROM metric_buckets WHERE level = ? "
                            f"AND series_id IN ({sid_marks}){bucket_where} GROUP BY series_id"
                        ),
                        (len(SHIFTS) - 1, *sids, *bucket_args),
                    ):
                        totals[series_id] = int(total or 0)
            # One indexed range read per run on the driver's cursor: the primary key's (series, step) order.
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                for run_id, sids_of_run in series.items():
                    if sum(totals.get(sid, 0) for sid in sids_of_run) > max_results:
                        out[run_id] = downsample_select(conn, self._sql, run_id, key, max_results, start_step, end_step)
                        continue
                    marks = ", ".join([self._ph] * len(sids_of_run))
                    cursor.execute(
                        self._sql(
                            f"SELECT step, value{', timestamp' if timestamps else ''} FROM metric_points "
                            f"WHERE series_id IN ({marks})"
                            f"{step_where} ORDER BY step, series_id"
                        ),
                        (*sids_of_run, *step_args),
                    )
                    out[run_id] = list(cursor.fetchall())
            finally:
                cursor.close()
        return out

    # ---- search ----------------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        from ...tracking.search import (
            decode_page_token,
            encode_page_token,
            parse_order_by,
            parse_search_filter,
        )
        from .search_sql import runs_select

        _check_max_results(max_results, 1_000_000)
        offset = decode_page_token(page_token)
        stmt = runs_select(
            [self._exp_id(e) for e in experiment_ids],
            parse_search_filter(filter_string),
            parse_order_by(list(order_by or [])),
            ViewType.stages(ViewType.parse(run_view_type)),
            max_results + 1,
            offset,
        )
        with self._read() as conn:
            ids = [r[0] for r in conn.execute(stmt)]
            has_more = len(ids) > max_results
            ids = ids[:max_results]
            loaded = self._load_runs(conn, ids)
        items = [loaded[i] for i in ids if i in loaded]
        return PagedList(items, encode_page_token(offset + max_results) if has_more else None)


class _RunRow(NamedTuple):
    """A row of the ``runs`` table, by column name (as ``_run_info`` reads it)."""

    run_uuid: str
    name: str | None
    experiment_id: int
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    deleted_time: int | None
    lifecycle_stage: str
    artifact_uri: str | None


def _run_info(r: Any) -> RunInfo:
    """A `RunInfo` from a row of the ``runs`` table."""
    return RunInfo(
        run_id=r.run_uuid,
        experiment_id=str(r.experiment_id),
        run_name=r.name or "",
        user_id=r.user_id or "",
        status=r.status,
        start_time=r.start_time,
        end_time=r.end_time,
        artifact_uri=r.artifact_uri,
        lifecycle_stage=r.lifecycle_stage,
    )


def _check_stage(run_id: str, stage: str | None) -> None:
    if stage is None:
        raise run_not_found(run_id)
    if stage != LifecycleStage.ACTIVE:
        raise run_not_active(run_id)


def _is_integrity_error(exc: BaseException) -> bool:
    """A constraint violation, from sqlite3 directly (`sqlite_direct`) or wrapped by SQLAlchemy."""
    sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded if the error came through SQLAlchemy
    return isinstance(exc, sqlite3.IntegrityError) or (sa_exc is not None and isinstance(exc, sa_exc.IntegrityError))


def _is_point_conflict(exc: BaseException) -> bool:
    """A unique violation on ``metric_points`` (from psycopg directly in pipeline mode, or wrapped by SQLAlchemy)."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "23505" and "metric_points" in str(orig)


def _group(metrics: list[Metric], series: Any) -> dict[tuple[str, str, str, str], list[Metric]]:
    """Points by series, each series in batch order (a stable sort: a later value at a step still wins)."""
    return {s: list(points) for s, points in groupby(sorted(metrics, key=series), series)}


def _check_max_results(max_results: int, limit: int) -> None:
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 0 < max_results <= limit:
        raise InvalidParameterError(f"Invalid max_results={max_results!r}: give an integer between 1 and {limit}")


def _param_conflict(run_id: str, key: str, old: str, new: str) -> str:
    return (
        f"Param {key!r} of run {run_id!r} was already logged with value {old!r}; it cannot be changed to {new!r}. "
        "Params are immutable: log the new value under another key, or start a new run"
    )


_ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle",
    "glad", "golden", "happy", "jolly", "keen", "lively", "lucky", "merry", "mighty", "nimble", "polite",
    "proud", "quick", "quiet", "rare", "shiny", "silent", "smart", "sunny", "swift", "tidy", "vivid", "witty",
)  # fmt: skip
_NOUNS = (
    "ant", "bear", "bee", "cat", "crow", "deer", "dove", "eagle", "finch", "fox", "frog", "goat", "hare",
    "hawk", "heron", "horse", "koala", "lark", "lion", "lynx", "mole", "moth", "newt", "otter", "owl",
    "panda", "quail", "robin", "seal", "shark", "slug", "snail", "swan", "tiger", "trout", "wolf", "wren",
)  # fmt: skip


_NAME_RANDOM = random.SystemRandom()  # unaffected by training code that seeds `random`


def _random_run_name() -> str:
    rng = _NAME_RANDOM
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(100, 999)}"


__all__ = ["SqlTrackingStore", "MlTrackException"]
