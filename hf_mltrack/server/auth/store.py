"""Users and permissions of basic-auth, in three tables of the backend database.

```
hf_mltrack_auth_users                      id, username (unique), password_hash, is_admin
hf_mltrack_auth_experiment_permissions     experiment_id, user_id, permission   (unique per pair)
hf_mltrack_auth_model_permissions          name, user_id, permission            (unique per pair)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...exceptions import InvalidParameterError, ResourceAlreadyExistsError, ResourceNotFoundError
from .passwords import check_password_strength, hash_password

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: Permission names in increasing order of power.
PERMISSIONS = ("NO_PERMISSIONS", "READ", "EDIT", "MANAGE")
LEVEL = {name: i for i, name in enumerate(PERMISSIONS)}


def check_permission(name: object) -> str:
    if not isinstance(name, str) or name.upper() not in LEVEL:
        raise InvalidParameterError(f"Invalid permission {name!r}: use one of {', '.join(PERMISSIONS)}")
    return name.upper()


@dataclass
class User:
    id: int
    username: str
    password_hash: str
    is_admin: bool
    experiment_permissions: list[dict] = field(default_factory=list)
    registered_model_permissions: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "is_admin": self.is_admin,
            "experiment_permissions": self.experiment_permissions,
            "registered_model_permissions": self.registered_model_permissions,
        }


def _tables():  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    md = sa.MetaData()
    users = sa.Table(
        "hf_mltrack_auth_users",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(255), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    )
    exp = sa.Table(
        "hf_mltrack_auth_experiment_permissions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("hf_mltrack_auth_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("permission", sa.String(32), nullable=False),
        sa.UniqueConstraint("experiment_id", "user_id", name="uq_hf_mltrack_auth_exp_user"),
    )
    model = sa.Table(
        "hf_mltrack_auth_model_permissions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("hf_mltrack_auth_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("permission", sa.String(32), nullable=False),
        sa.UniqueConstraint("name", "user_id", name="uq_hf_mltrack_auth_model_user"),
    )
    return md, users, exp, model


class AuthStore:
    """SQL access for users and permissions.

    Args:
        engine (`sqlalchemy.engine.Engine`): the backend database's engine; the tables are created if absent.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.metadata, self.users, self.exp_perms, self.model_perms = _tables()
        self.metadata.create_all(engine)

    def _write(self):  # type: ignore[no-untyped-def]
        return self.engine.execution_options(hf_write=True).begin()

    # ---- users --------------------------------------------------------------------------------
    def create_user(self, username: str, password: str, is_admin: bool = False) -> User:
        import sqlalchemy as sa

        if not isinstance(username, str) or not username.strip() or len(username) > 255 or ":" in username:
            raise InvalidParameterError(
                f"Invalid user name {username!r}: give 1 to 255 characters without ':' (it separates the "
                "name from the password in basic auth)"
            )
        check_password_strength(password, username)
        try:
            with self._write() as conn:
                conn.execute(
                    self.users.insert().values(
                        username=username, password_hash=hash_password(password), is_admin=bool(is_admin)
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise ResourceAlreadyExistsError(f"User {username!r} already exists") from exc
        return self.get_user(username)

    def find_user(self, username: str) -> User | None:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.users).where(self.users.c.username == username)).first()
        if row is None:
            return None
        return User(row.id, row.username, row.password_hash, bool(row.is_admin))

    def get_user(self, username: str, with_permissions: bool = False) -> User:
        import sqlalchemy as sa

        user = self.find_user(username)
        if user is None:
            raise ResourceNotFoundError(f"No user named {username!r}")
        if with_permissions:
            with self.engine.connect() as conn:
                for r in conn.execute(sa.select(self.exp_perms).where(self.exp_perms.c.user_id == user.id)):
                    user.experiment_permissions.append(
                        {"experiment_id": r.experiment_id, "user_id": r.user_id, "permission": r.permission}
                    )
                for r in conn.execute(sa.select(self.model_perms).where(self.model_perms.c.user_id == user.id)):
                    user.registered_model_permissions.append(
                        {"name": r.name, "user_id": r.user_id, "permission": r.permission}
                    )
        return user

    def update_password(self, username: str, password: str) -> None:
        check_password_strength(password, username)
        user = self.get_user(username)
        with self._write() as conn:
            conn.execute(
                self.users.update().where(self.users.c.id == user.id).values(password_hash=hash_password(password))
            )

    def rehash_password(self, user: User, password: str) -> bool:
        """Store ``password`` (already verified) at the current cost, unless the hash changed meanwhile."""
        new_hash = hash_password(password)
        with self._write() as conn:
            result = conn.execute(
                self.users.update()
                .where(self.users.c.id == user.id, self.users.c.password_hash == user.password_hash)
                .values(password_hash=new_hash)
            )
        if result.rowcount:
            user.password_hash = new_hash
        return bool(result.rowcount)

    def update_admin(self, username: str, is_admin: bool) -> None:
        user = self.get_user(username)
        with self._write() as conn:
            conn.execute(self.users.update().where(self.users.c.id == user.id).values(is_admin=bool(is_admin)))

    def delete_user(self, username: str) -> None:
        user = self.get_user(username)
        with self._write() as conn:
            conn.execute(self.exp_perms.delete().where(self.exp_perms.c.user_id == user.id))
            conn.execute(self.model_perms.delete().where(self.model_perms.c.user_id == user.id))
            conn.execute(self.users.delete().where(self.users.c.id == user.id))

    # ---- permissions ------------------------------------------------------------------------
    def _table(self, kind: str):  # type: ignore[no-untyped-def]
        return (
            (self.exp_perms, self.exp_perms.c.experiment_id)
            if kind == "experiment"
            else (
                self.model_perms,
                self.model_perms.c.name,
            )
        )

    def get_permission(self, kind: str, resource: str, user_id: int) -> str | None:
        import sqlalchemy as sa

        table, col = self._table(kind)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.c.permission).where((col == str(resource)) & (table.c.user_id == user_id))
            ).first()
        return row[0] if row else None

    def permissions_for(self, kind: str, resources: list[str], user_id: int) -> dict[str, str]:
        import sqlalchemy as sa

        table, col = self._table(kind)
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(resources), 500):
                chunk = [str(r) for r in resources[i : i + 500]]
                for res, perm in conn.execute(
                    sa.select(col, table.c.permission).where(col.in_(chunk) & (table.c.user_id == user_id))
                ):
                    out[res] = perm
        return out

    def set_permission(self, kind: str, resource: str, username: str, permission: str, *, create: bool) -> dict:
        import sqlalchemy as sa

        permission = check_permission(permission)
        user = self.get_user(username)
        table, col = self._table(kind)
        key = "experiment_id" if kind == "experiment" else "name"
        try:
            with self._write() as conn:
                exists = conn.execute(
                    sa.select(table.c.id).where((col == str(resource)) & (table.c.user_id == user.id))
                ).first()
                if create and exists:
                    raise ResourceAlreadyExistsError(
                        f"User {username!r} already has a permission on {kind} {resource!r}: update it instead"
                    )
                if not create and not exists:
                    raise ResourceNotFoundError(f"User {username!r} has no permission on {kind} {resource!r}")
                if exists:
                    conn.execute(table.update().where(table.c.id == exists[0]).values(permission=permission))
                else:
                    conn.execute(table.insert().values(**{key: str(resource)}, user_id=user.id, permission=permission))
        except sa.exc.IntegrityError as exc:
            raise ResourceAlreadyExistsError(
                f"User {username!r} already has a permission on {kind} {resource!r}"
            ) from exc
        return {key: str(resource), "user_id": user.id, "permission": permission}

    def grant(self, kind: str, resource: str, user_id: int, permission: str) -> None:
        """Give ``permission`` (insert or overwrite), e.g. MANAGE to the creator of a resource."""
        import sqlalchemy as sa

        table, col = self._table(kind)
        key = "experiment_id" if kind == "experiment" else "name"
        with self._write() as conn:
            exists = conn.execute(
                sa.select(table.c.id).where((col == str(resource)) & (table.c.user_id == user_id))
            ).first()
            if exists:
                conn.execute(table.update().where(table.c.id == exists[0]).values(permission=permission))
            else:
                conn.execute(table.insert().values(**{key: str(resource)}, user_id=user_id, permission=permission))

    def get_permission_record(self, kind: str, resource: str, username: str) -> dict:
        user = self.get_user(username)
        perm = self.get_permission(kind, resource, user.id)
        if perm is None:
            raise ResourceNotFoundError(f"User {username!r} has no permission on {kind} {resource!r}")
        key = "experiment_id" if kind == "experiment" else "name"
        return {key: str(resource), "user_id": user.id, "permission": perm}

    def delete_permission(self, kind: str, resource: str, username: str) -> None:
        user = self.get_user(username)
        table, col = self._table(kind)
        with self._write() as conn:
            res = conn.execute(table.delete().where((col == str(resource)) & (table.c.user_id == user.id)))
            if res.rowcount == 0:
                raise ResourceNotFoundError(f"User {username!r} has no permission on {kind} {resource!r}")

    def rename_model(self, old: str, new: str) -> None:
        with self._write() as conn:
            conn.execute(self.model_perms.update().where(self.model_perms.c.name == old).values(name=new))
