"""The SQL model registry store (SQLAlchemy 2 Core) for SQLite and PostgreSQL, on the tracking engine.

Version numbers come from ``registered_models.last_version``, read and bumped under a lock on the
model's row (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL): concurrent
registrations get distinct, contiguous numbers and a deleted number is never handed out again.
Stage transitions and alias moves take the same lock and write a ``registry_events`` row in the
same transaction, so the history is exactly the sequence of changes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...entities.paged_list import PagedList
from ...entities.registry import (
    MODEL_VERSIONS_TAG,
    ModelVersion,
    ModelVersionStage,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventType,
)
from ...exceptions import (
    InvalidParameterError,
    InvalidStateError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from ...registry.base import AbstractRegistryStore
from .registry_schema import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
    registry_events,
)
from .search_sql import compare

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ...tracking.search import Comparison, OrderBy

_IN_CHUNK = 400
_STAGE_ORDER = {s: i for i, s in enumerate(ModelVersionStage.ALL)}


def list_versions_on_logged_model(conn: Connection, model_id: str) -> bool:
    """Rebuild the logged model's ``mlflow.modelVersions`` tag (MLflow's JSON list of the versions
    registered from it, oldest first) from ``model_versions``, inside the caller's transaction; whether
    the model lives in this database (a registry apart from the tracking store leaves it to the client).

    The model's row is locked first, so concurrent registrations from one model (to any registered
    models) queue here and each rebuild sees the versions committed before it: none is lost.
    """
    import json

    from .logged_model_schema import logged_model_tags, logged_models

    found = conn.execute(
        sa.select(logged_models.c.model_id).where(logged_models.c.model_id == model_id).with_for_update()
    ).first()
    if found is None:
        return False
    mv = model_versions.c
    rows = conn.execute(
        sa.select(mv.name, mv.version).where(mv.model_id == model_id).order_by(mv.creation_time, mv.name, mv.version)
    ).all()
    value = json.dumps([{"name": n, "version": int(v)} for n, v in rows])
    t = logged_model_tags.c
    where = (t.model_id == model_id) & (t.key == MODEL_VERSIONS_TAG)
    if conn.execute(logged_model_tags.update().where(where).values(value=value)).rowcount == 0:
        conn.execute(logged_model_tags.insert().values(model_id=model_id, key=MODEL_VERSIONS_TAG, value=value))
    return True


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_max_results(max_results: int, limit: int) -> None:
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 0 < max_results <= limit:
        raise InvalidParameterError(f"Invalid max_results={max_results!r}: give an integer between 1 and {limit}")


def _model_not_found(name: str) -> ResourceNotFoundError:
    return ResourceNotFoundError(
        # MLflow's wording first (clients match on it), then the fix
        f"Registered Model with name={name} not found: create it with create_registered_model({name!r}) "
        "or hf_mltrack.register_model(model_uri, name)"
    )


class SqlRegistryStore(AbstractRegistryStore):
    """Model registry on a SQL database (the tracking store's database and engine).

    Args:
        db_uri (`str`): SQLAlchemy URI (``sqlite:///...``, ``postgresql://...``).
    """

    def __init__(self, db_uri: str) -> None:
        from .engine import get_engine

        self.db_uri = db_uri
        self.engine = get_engine(db_uri)
        self.dialect = self.engine.dialect.name

    def __repr__(self) -> str:
        from .engine import redact

        return f"SqlRegistryStore({redact(self.db_uri)!r})"

    # ---- helpers --------------------------------------------------------------------------
    def _write(self):  # type: ignore[no-untyped-def]
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        return self.engine.execution_options(hf_write=True).begin()

    def _read(self):  # type: ignore[no-untyped-def]
        return self.engine.connect()

    def _lock_model(self, conn: Connection, name: str) -> Any:
        """The model's row, locked for the rest of the transaction (or ResourceNotFoundError)."""

        row = conn.execute(
            sa.select(registered_models).where(registered_models.c.name == name).with_for_update()
        ).first()
        if row is None:
            raise _model_not_found(name)
        return row

    def _version_row(self, conn: Connection, name: str, version: int) -> Any:
        row = conn.execute(
            sa.select(model_versions).where(model_versions.c.name == name, model_versions.c.version == version)
        ).first()
        if row is not None:
            return row
        if conn.execute(sa.select(registered_models.c.name).where(registered_models.c.name == name)).first() is None:
            raise _model_not_found(name)
        existing = [
            r[0]
            for r in conn.execute(
                sa.select(model_versions.c.version)
                .where(model_versions.c.name == name)
                .order_by(model_versions.c.version)
            )
        ]
        hint = f"its versions are {', '.join(map(str, existing))}" if existing else "it has no versions yet"
        first = " (versions count from 1)" if version < 1 else ""
        raise ResourceNotFoundError(
            f"Model version {version} of registered model {name!r} does not exist{first}: {hint}"
        )

    def _touch_model(self, conn: Connection, name: str, now: int) -> None:
        conn.execute(registered_models.update().where(registered_models.c.name == name).values(last_updated_time=now))

    def _touch_version(self, conn: Connection, name: str, version: int, now: int) -> None:
        conn.execute(
            model_versions.update()
            .where(model_versions.c.name == name, model_versions.c.version == version)
            .values(last_updated_time=now)
        )

    def _event(
        self,
        conn: Connection,
        name: str,
        version: int | None,
        event: str,
        from_value: str | None,
        to_value: str | None,
        user_id: str | None,
        now: int,
        alias: str | None = None,
    ) -> None:
        conn.execute(
            registry_events.insert().values(
                name=name,
                version=version,
                event=event,
                alias=alias,
                from_value=from_value,
                to_value=to_value,
                user_id=user_id,
                timestamp=now,
            )
        )

    # ---- loading entities --------------------------------------------------------------------
    def _versions(self, conn: Connection, rows: Sequence[Any]) -> list[ModelVersion]:
        """Entities for model_versions rows (in the given order), with tags and aliases."""

        if not rows:
            return []
        keys = {(r.name, r.version) for r in rows}
        names = sorted({r.name for r in rows})
        tag_map: dict[tuple[str, int], dict[str, str]] = {k: {} for k in keys}
        alias_map: dict[tuple[str, int], list[str]] = {k: [] for k in keys}
        for i in range(0, len(names), _IN_CHUNK):
            chunk = names[i : i + _IN_CHUNK]
            for t in conn.execute(sa.select(model_version_tags).where(model_version_tags.c.name.in_(chunk))):
                if (t.name, t.version) in tag_map:
                    tag_map[(t.name, t.version)][t.key] = t.value
            aliases = conn.execute(
                sa.select(registered_model_aliases)
                .where(registered_model_aliases.c.name.in_(chunk))
                .order_by(registered_model_aliases.c.alias)
            )
            for a in aliases:
                if (a.name, a.version) in alias_map:
                    alias_map[(a.name, a.version)].append(a.alias)
        return [
            ModelVersion(
                name=r.name,
                version=str(r.version),
                creation_timestamp=r.creation_time,
                last_updated_timestamp=r.last_updated_time,
                description=r.description,
                user_id=r.user_id,
                current_stage=r.current_stage,
                source=r.source,
                run_id=r.run_id,
                status=r.status,
                status_message=r.status_message,
                run_link=r.run_link,
                tags=tag_map[(r.name, r.version)],
                aliases=alias_map[(r.name, r.version)],
                model_id=r.model_id,
            )
            for r in rows
        ]

    def _models(self, conn: Connection, names: Sequence[str]) -> list[RegisteredModel]:
        """Entities for these model names (in the given order), with tags, aliases and latest versions."""

        if not names:
            return []
        rows: dict[str, Any] = {}
        tag_map: dict[str, dict[str, str]] = {n: {} for n in names}
        alias_map: dict[str, dict[str, str]] = {n: {} for n in names}
        latest_rows: list[Any] = []
        unique = list(dict.fromkeys(names))
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            for r in conn.execute(sa.select(registered_models).where(registered_models.c.name.in_(chunk))):
                rows[r.name] = r
            for t in conn.execute(sa.select(registered_model_tags).where(registered_model_tags.c.name.in_(chunk))):
                tag_map[t.name][t.key] = t.value
            aliases = conn.execute(
                sa.select(registered_model_aliases)
                .where(registered_model_aliases.c.name.in_(chunk))
                .order_by(registered_model_aliases.c.alias)
            )
            for a in aliases:
                alias_map[a.name][a.alias] = str(a.version)
            newest = (
                sa.select(
                    model_versions.c.name,
                    model_versions.c.current_stage,
                    sa.func.max(model_versions.c.version).label("version"),
                )
                .where(model_versions.c.name.in_(chunk))
                .group_by(model_versions.c.name, model_versions.c.current_stage)
                .subquery()
            )
            latest_rows += conn.execute(
                sa.select(model_versions).join(
                    newest,
                    sa.and_(model_versions.c.name == newest.c.name, model_versions.c.version == newest.c.version),
                )
            ).all()
        latest_rows.sort(key=lambda r: (_STAGE_ORDER.get(r.current_stage, 99), r.version))
        latest: dict[str, list[ModelVersion]] = {n: [] for n in names}
        for mv in self._versions(conn, latest_rows):
            latest[mv.name].append(mv)
        return [
            RegisteredModel(
                name=n,
                creation_timestamp=rows[n].creation_time,
                last_updated_timestamp=rows[n].last_updated_time,
                description=rows[n].description,
                latest_versions=latest[n],
                tags=tag_map[n],
                aliases=alias_map[n],
            )
            for n in names
            if n in rows
        ]

    # ---- registered models -----------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        now = _now_ms()
        exists = ResourceAlreadyExistsError(
            f"Registered Model (name={name}) already exists: use get_registered_model({name!r}), register a "
            "new version with create_model_version, or choose another name"
        )
        try:
            with self._write() as conn:
                if conn.execute(sa.select(registered_models.c.name).where(registered_models.c.name == name)).first():
                    raise exists
                conn.execute(
                    registered_models.insert().values(
                        name=name,
                        creation_time=now,
                        last_updated_time=now,
                        description=description,
                        last_version=0,
                    )
                )
                if tags:
                    conn.execute(
                        registered_model_tags.insert(),
                        [{"name": name, "key": k, "value": v} for k, v in tags.items()],
                    )
        except sa.exc.IntegrityError as exc:  # a concurrent create of the same name won
            raise exists from exc
        return self.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        if new_name == name:
            return self.get_registered_model(name)
        taken = ResourceAlreadyExistsError(
            f"Cannot rename registered model {name!r} to {new_name!r}: a model named {new_name!r} already exists"
        )
        try:
            with self._write() as conn:
                self._lock_model(conn, name)
                if conn.execute(
                    sa.select(registered_models.c.name).where(registered_models.c.name == new_name)
                ).first():
                    raise taken
                # ON UPDATE CASCADE carries versions, tags and aliases along.
                conn.execute(
                    registered_models.update()
                    .where(registered_models.c.name == name)
                    .values(name=new_name, last_updated_time=_now_ms())
                )
                conn.execute(registry_events.update().where(registry_events.c.name == name).values(name=new_name))
        except sa.exc.IntegrityError as exc:
            raise taken from exc
        return self.get_registered_model(new_name)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self._write() as conn:
            self._lock_model(conn, name)
            conn.execute(
                registered_models.update()
                .where(registered_models.c.name == name)
                .values(description=description, last_updated_time=_now_ms())
            )
        return self.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        with self._write() as conn:
            self._lock_model(conn, name)
            in_use = conn.execute(
                sa.select(model_versions.c.version, model_versions.c.current_stage)
                .where(
                    model_versions.c.name == name,
                    model_versions.c.current_stage.in_(ModelVersionStage.ACTIVE),
                )
                .order_by(model_versions.c.version)
            ).all()
            if in_use:
                listed = ", ".join(f"version {r.version} ({r.current_stage})" for r in in_use)
                raise InvalidStateError(
                    f"Registered model {name!r} cannot be deleted: {listed} "
                    f"{'is' if len(in_use) == 1 else 'are'} in use. Archive "
                    f"{'it' if len(in_use) == 1 else 'them'} first with "
                    f"transition_model_version_stage({name!r}, {in_use[0].version}, 'Archived')"
                )
            # Explicit child deletes: correct even where a database ignores ON DELETE CASCADE.
            for table in (
                model_version_tags,
                registered_model_aliases,
                model_versions,
                registered_model_tags,
            ):
                conn.execute(table.delete().where(table.c.name == name))
            conn.execute(registry_events.delete().where(registry_events.c.name == name))
            conn.execute(registered_models.delete().where(registered_models.c.name == name))

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._read() as conn:
            found = self._models(conn, [name])
        if not found:
            raise _model_not_found(name)
        return found[0]

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        from ...registry.search import REGISTERED_MODEL_GRAMMAR, parse_filter, parse_order_by
        from ...tracking.search import decode_page_token, encode_page_token

        _check_max_results(max_results, 1000)
        comparisons = parse_filter(filter_string, REGISTERED_MODEL_GRAMMAR)
        orders = parse_order_by(order_by, REGISTERED_MODEL_GRAMMAR)
        offset = decode_page_token(page_token)
        columns = {
            "name": registered_models.c.name,
            "creation_timestamp": registered_models.c.creation_time,
            "last_updated_timestamp": registered_models.c.last_updated_time,
        }
        where = [
            self._condition(
                c,
                columns,
                registered_model_tags,
                [registered_model_tags.c.name == registered_models.c.name],
                missing_is_ne=True,
            )
            for c in comparisons
        ]
        order = self._order(orders, columns, [("name", True)])
        stmt = sa.select(registered_models.c.name).where(*where).order_by(*order).limit(max_results + 1).offset(offset)
        with self._read() as conn:
            names = [r[0] for r in conn.execute(stmt)]
            has_more = len(names) > max_results
            items = self._models(conn, names[:max_results])
        return PagedList(items, encode_page_token(offset + max_results) if has_more else None)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self._write() as conn:
            self._lock_model(conn, name)
            self._upsert_tag(conn, registered_model_tags, {"name": name}, key, value)
            self._touch_model(conn, name, _now_ms())

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self._write() as conn:
            self._lock_model(conn, name)
            deleted = conn.execute(
                registered_model_tags.delete().where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            ).rowcount
            if not deleted:
                raise ResourceNotFoundError(f"Registered model {name!r} has no tag {key!r}")
            self._touch_model(conn, name, _now_ms())

    @staticmethod
    def _upsert_tag(conn: Connection, table: Any, owner: dict[str, Any], key: str, value: str) -> None:
        match = [table.c[col] == val for col, val in owner.items()] + [table.c.key == key]
        if conn.execute(sa.select(table.c.key).where(*match)).first():
            conn.execute(table.update().where(*match).values(value=value))
        else:
            conn.execute(table.insert().values(**owner, key=key, value=value))

    # ---- search SQL --------------------------------------------------------------------------
    @staticmethod
    def _condition(
        c: Comparison, columns: dict[str, Any], tag_table: Any, owner_match: list[Any], missing_is_ne: bool = False
    ) -> Any:
        if c.entity_type == "attribute":
            value: Any = c.value
            if c.key == "version_number":
                value = int(value) if float(value) == int(value) else float(value)  # type: ignore[arg-type]
            return compare(columns[c.key], c.op, value)
        exists = sa.select(sa.literal(1)).where(*owner_match, tag_table.c.key == c.key)
        if c.op == "IS NULL":
            return ~exists.exists()
        if c.op == "IS NOT NULL":
            return exists.exists()
        if c.op == "!=" and missing_is_ne:
            # MLflow 3.17: a model without the tag satisfies ``!=`` (its client adds
            # ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every registered-model search).
            return ~exists.where(tag_table.c.value == c.value).exists()
        return exists.where(compare(tag_table.c.value, c.op, c.value)).exists()

    def _order(self, orders: Sequence[OrderBy], columns: dict[str, Any], tail: list[tuple[str, bool]]) -> list[Any]:
        """ORDER BY terms, NULLs last; strings by code point (``COLLATE "C"`` on PostgreSQL)."""

        clauses = [(ob.key, ob.ascending) for ob in orders]
        seen = {key for key, _ in clauses}
        clauses += [(key, asc) for key, asc in tail if key not in seen]
        terms = []
        for key, asc in clauses:
            column = columns[key]
            if self.dialect == "postgresql" and isinstance(column.type, (sa.String, sa.Text)):
                column = column.collate("C")
            terms.append((column.asc() if asc else column.desc()).nulls_last())
        return terms

    # ---- versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        now = _now_ms()
        with self._write() as conn:
            row = self._lock_model(conn, name)
            version = int(row.last_version) + 1
            conn.execute(
                registered_models.update()
                .where(registered_models.c.name == name)
                .values(last_version=version, last_updated_time=now)
            )
            conn.execute(
                model_versions.insert().values(
                    name=name,
                    version=version,
                    creation_time=now,
                    last_updated_time=now,
                    description=description,
                    user_id=user_id,
                    current_stage=ModelVersionStage.NONE,
                    source=source,
                    run_id=run_id,
                    run_link=run_link,
                    status=ModelVersionStatus.READY,
                    model_id=model_id,
                )
            )
            if tags:
                conn.execute(
                    model_version_tags.insert(),
                    [{"name": name, "version": version, "key": k, "value": v} for k, v in tags.items()],
                )
            if model_id is not None:
                list_versions_on_logged_model(conn, model_id)
        return self.get_model_version(name, version)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self._read() as conn:
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            conn.execute(
                model_versions.update()
                .where(model_versions.c.name == name, model_versions.c.version == version)
                .values(description=description, last_updated_time=now)
            )
            self._touch_model(conn, name, now)
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: int, user_id: str | None = None) -> None:
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            row = self._version_row(conn, name, version)
            if row.current_stage in ModelVersionStage.ACTIVE:
                raise InvalidStateError(
                    f"Model version {version} of registered model {name!r} is in stage {row.current_stage!r} "
                    f"and cannot be deleted: archive it first with "
                    f"transition_model_version_stage({name!r}, {version}, 'Archived'), then delete it"
                )
            for a in conn.execute(
                sa.select(registered_model_aliases.c.alias).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.version == version
                )
            ).all():
                self._event(
                    conn,
                    name,
                    version,
                    RegistryEventType.ALIAS_DELETED,
                    str(version),
                    None,
                    user_id,
                    now,
                    a.alias,
                )
            for table in (model_version_tags, registered_model_aliases):
                conn.execute(table.delete().where(table.c.name == name, table.c.version == version))
            conn.execute(
                model_versions.delete().where(model_versions.c.name == name, model_versions.c.version == version)
            )
            self._touch_model(conn, name, now)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        from ...registry.search import MODEL_VERSION_GRAMMAR, parse_filter, parse_order_by
        from ...tracking.search import decode_page_token, encode_page_token

        _check_max_results(max_results, 200_000)
        comparisons = parse_filter(filter_string, MODEL_VERSION_GRAMMAR)
        orders = parse_order_by(order_by, MODEL_VERSION_GRAMMAR)
        offset = decode_page_token(page_token)
        mv = model_versions.c
        columns = {
            "name": mv.name,
            "run_id": mv.run_id,
            "source": mv.source,
            "current_stage": mv.current_stage,
            "user_id": mv.user_id,
            "version_number": mv.version,
            "creation_timestamp": mv.creation_time,
            "last_updated_timestamp": mv.last_updated_time,
        }
        owner = [model_version_tags.c.name == mv.name, model_version_tags.c.version == mv.version]
        where = [self._condition(c, columns, model_version_tags, owner) for c in comparisons]
        # MLflow's default when no order is asked: the most recently updated first
        default = [] if orders else [("last_updated_timestamp", False)]
        order = self._order(orders, columns, [*default, ("name", True), ("version_number", False)])
        stmt = sa.select(model_versions).where(*where).order_by(*order).limit(max_results + 1).offset(offset)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
            has_more = len(rows) > max_results
            items = self._versions(conn, rows[:max_results])
        return PagedList(items, encode_page_token(offset + max_results) if has_more else None)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        model = self.get_registered_model(name)
        if not stages:
            return model.latest_versions
        wanted = [ModelVersionStage.canonical(s) for s in stages]
        by_stage = {mv.current_stage: mv for mv in model.latest_versions}
        return [by_stage[s] for s in dict.fromkeys(wanted) if s in by_stage]

    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: str,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion:
        stage = ModelVersionStage.canonical(stage)
        if archive_existing_versions and stage not in ModelVersionStage.ACTIVE:
            raise InvalidParameterError(
                f"archive_existing_versions=True only applies to a transition to Staging or Production, "
                f"not to {stage!r}: drop the argument"
            )
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            row = self._version_row(conn, name, version)
            mv = model_versions.c
            if archive_existing_versions:
                others = conn.execute(
                    sa.select(mv.version, mv.current_stage).where(
                        mv.name == name, mv.current_stage == stage, mv.version != version
                    )
                ).all()
                for other in others:
                    conn.execute(
                        model_versions.update()
                        .where(mv.name == name, mv.version == other.version)
                        .values(current_stage=ModelVersionStage.ARCHIVED, last_updated_time=now)
                    )
                    self._event(
                        conn,
                        name,
                        other.version,
                        RegistryEventType.STAGE_TRANSITION,
                        other.current_stage,
                        ModelVersionStage.ARCHIVED,
                        user_id,
                        now,
                    )
            conn.execute(
                model_versions.update()
                .where(mv.name == name, mv.version == version)
                .values(current_stage=stage, last_updated_time=now)
            )
            if row.current_stage != stage:
                self._event(
                    conn,
                    name,
                    version,
                    RegistryEventType.STAGE_TRANSITION,
                    row.current_stage,
                    stage,
                    user_id,
                    now,
                )
            self._touch_model(conn, name, now)
        return self.get_model_version(name, version)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            self._upsert_tag(conn, model_version_tags, {"name": name, "version": version}, key, value)
            self._touch_version(conn, name, version, now)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            t = model_version_tags.c
            deleted = conn.execute(
                model_version_tags.delete().where(t.name == name, t.version == version, t.key == key)
            ).rowcount
            if not deleted:
                raise ResourceNotFoundError(f"Model version {version} of registered model {name!r} has no tag {key!r}")
            self._touch_version(conn, name, version, now)

    # ---- aliases -------------------------------------------------------------------------------
    def _alias_row(self, conn: Connection, name: str, alias: str) -> Any:
        a = registered_model_aliases.c
        return conn.execute(sa.select(registered_model_aliases).where(a.name == name, a.alias == alias)).first()

    def _alias_not_found(self, conn: Connection, name: str, alias: str) -> ResourceNotFoundError:
        a = registered_model_aliases.c
        known = [r[0] for r in conn.execute(sa.select(a.alias).where(a.name == name).order_by(a.alias))]
        hint = f"its aliases are {', '.join(known)}" if known else "it has no aliases"
        return ResourceNotFoundError(
            f"Registered model {name!r} has no alias {alias!r} ({hint}): set it with "
            f"set_registered_model_alias({name!r}, {alias!r}, version)"
        )

    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None = None) -> None:
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            old = self._alias_row(conn, name, alias)
            a = registered_model_aliases.c
            if old is None:
                conn.execute(registered_model_aliases.insert().values(name=name, alias=alias, version=version))
            elif old.version != version:
                conn.execute(
                    registered_model_aliases.update().where(a.name == name, a.alias == alias).values(version=version)
                )
            if old is None or old.version != version:
                self._event(
                    conn,
                    name,
                    version,
                    RegistryEventType.ALIAS_SET,
                    None if old is None else str(old.version),
                    str(version),
                    user_id,
                    now,
                    alias,
                )
                self._touch_model(conn, name, now)

    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None = None) -> None:
        now = _now_ms()
        with self._write() as conn:
            self._lock_model(conn, name)
            old = self._alias_row(conn, name, alias)
            if old is None:
                raise self._alias_not_found(conn, name, alias)
            a = registered_model_aliases.c
            conn.execute(registered_model_aliases.delete().where(a.name == name, a.alias == alias))
            self._event(
                conn,
                name,
                old.version,
                RegistryEventType.ALIAS_DELETED,
                str(old.version),
                None,
                user_id,
                now,
                alias,
            )
            self._touch_model(conn, name, now)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self._read() as conn:
            row = self._alias_row(conn, name, alias)
            if row is None:
                exists = conn.execute(
                    sa.select(registered_models.c.name).where(registered_models.c.name == name)
                ).first()
                raise self._alias_not_found(conn, name, alias) if exists else _model_not_found(name)
            return self._versions(conn, [self._version_row(conn, name, row.version)])[0]

    # ---- history -------------------------------------------------------------------------------
    def get_registry_events(
        self, name: str, version: int | None = None, event: str | None = None, alias: str | None = None
    ) -> list[RegistryEvent]:
        e = registry_events.c
        where = [e.name == name]
        if version is not None:
            # events about this version, and alias moves away from it
            where.append(
                sa.or_(
                    e.version == version,
                    sa.and_(e.event == RegistryEventType.ALIAS_SET, e.from_value == str(version)),
                )
            )
        if event is not None:
            if event not in RegistryEventType.ALL:
                raise InvalidParameterError(
                    f"Invalid event type {event!r}: use one of {', '.join(RegistryEventType.ALL)}"
                )
            where.append(e.event == event)
        if alias is not None:
            where.append(e.alias == alias)
        with self._read() as conn:
            if (
                conn.execute(sa.select(registered_models.c.name).where(registered_models.c.name == name)).first()
                is None
            ):
                raise _model_not_found(name)
            rows = conn.execute(sa.select(registry_events).where(*where).order_by(e.id)).all()
        return [
            RegistryEvent(
                id=r.id,
                name=r.name,
                version=None if r.version is None else str(r.version),
                event=r.event,
                from_value=r.from_value,
                to_value=r.to_value,
                user_id=r.user_id,
                timestamp=r.timestamp,
                alias=r.alias,
            )
            for r in rows
        ]
