"""Multipart uploads through the artifact proxy: MLflow's ``mlflow-artifacts/mpu/*`` protocol.

A client creates an upload for one artifact file, PUTs its parts to the server, and completes it (or
aborts it). Clients never receive object-store URLs or credentials: every part goes through the server.

* Local destination: parts are written to a staging folder under the destination
  (``<root>/.hfmltrack-partial-multipart/<upload_id>/``, hidden from listings); completing concatenates
  them in order into a temporary file that is atomically renamed to the artifact's final name, so no
  partial file is ever visible under that name. Aborting removes the staging folder. Uploads a client
  abandoned (killed before it could abort) are swept once untouched for ``HF_MLTRACK_MULTIPART_STALE_SECONDS``
  (1 h), checked at most every `SWEEP_INTERVAL_SECONDS` on any multipart request; the staged bytes are
  capped by ``HF_MLTRACK_MULTIPART_STAGING_MAX_BYTES`` (10 GiB): a part past the cap is a 507.
* S3 destination: S3's own multipart upload; the server forwards each part with ``UploadPart``. Uploads
  under the destination's prefix untouched for the same stale time are aborted by a background sweep
  (at most every `SWEEP_INTERVAL_SECONDS`, started by a multipart request; not at a bucket's root).

Upload ids are validated against a strict pattern before they touch a path or an object store.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any, BinaryIO

from .. import _env
from ..artifacts.paths import TEMP_MARKER
from ..exceptions import InvalidParameterError, MlTrackException, ResourceNotFoundError

if TYPE_CHECKING:
    from ..artifacts.base import ArtifactRepository

#: S3's limits, applied to every destination.
MAX_PARTS = 10_000
MAX_PART_BYTES = 5 * 1024**3
#: Staging folder at the root of a local destination (its name hides it from listings).
STAGING_DIR = f"{TEMP_MARKER}multipart"
#: How often (at most) a process looks for stale uploads to remove.
SWEEP_INTERVAL_SECONDS = 60.0
#: Pages (1,000 uploads or parts each) one S3 sweep reads at most; the rest waits for the next sweep.
_SWEEP_MAX_PAGES = 10
_last_sweep: dict[str, float] = {}

_LOCAL_ID = re.compile(r"^[0-9a-f]{32}$")
_S3_ID = re.compile(r"^s3-[A-Za-z0-9_-]{1,1400}$")
_COPY_BUFFER = 4 * 1024 * 1024


class StagingFullError(MlTrackException):
    """The staging area holds `MULTIPART_STAGING_MAX_BYTES` already: a 507 naming the cap."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code="RESOURCE_EXHAUSTED")

    def get_http_status_code(self) -> int:
        return 507


def _newest_mtime(folder: str) -> float:
    newest = os.lstat(folder).st_mtime
    with os.scandir(folder) as entries:
        for entry in entries:
            with suppress(OSError):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


class MultipartNotSupportedError(MlTrackException):
    """The destination has no multipart support; clients fall back to a single PUT."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code="ENDPOINT_NOT_FOUND")


def check_not_staging(rel: str) -> str:
    """Refuse artifact paths inside the multipart staging folder (only this module writes there)."""
    if rel.split("/", 1)[0] == STAGING_DIR:
        raise InvalidParameterError(f"Invalid artifact path {rel!r}: {STAGING_DIR!r} is reserved")
    return rel


def check_num_parts(value: Any) -> int:
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise InvalidParameterError(f"num_parts must be an integer from 1 to {MAX_PARTS}, got {value!r}")
    n = int(value)
    if not 1 <= n <= MAX_PARTS:
        raise InvalidParameterError(f"num_parts must be from 1 to {MAX_PARTS}, got {n}")
    return n


def check_part_number(value: Any, num_parts: int = MAX_PARTS) -> int:
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not 1 <= int(text) <= num_parts:
        raise InvalidParameterError(f"part_number must be an integer from 1 to {num_parts}, got {value!r}")
    return int(text)


def _bad_upload_id(upload_id: Any) -> InvalidParameterError:
    return InvalidParameterError(
        f"Invalid upload_id {str(upload_id)[:80]!r}: use the id returned by mpu/create for this artifact"
    )


class MultipartBackend:
    """Multipart uploads to one destination repository (`for_repository` picks the implementation)."""

    def create(self, dest: str, num_parts: int) -> str:
        raise NotImplementedError

    def upload_part(self, dest: str, upload_id: str, part_number: int, body: BinaryIO, size: int) -> str:
        raise NotImplementedError

    def complete(self, dest: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        raise NotImplementedError

    def abort(self, dest: str, upload_id: str) -> None:
        raise NotImplementedError

    @staticmethod
    def for_repository(repo: ArtifactRepository) -> MultipartBackend:
        from ..artifacts.local import LocalArtifactRepository

        if isinstance(repo, LocalArtifactRepository):
            return LocalMultipart(repo)
        try:
            from ..artifacts.s3 import S3ArtifactRepository
        except ImportError:  # pragma: no cover - boto3 missing: then no S3 destination either
            S3ArtifactRepository = None  # type: ignore[assignment,misc]  # noqa: N806
        if S3ArtifactRepository is not None and isinstance(repo, S3ArtifactRepository):
            return S3Multipart(repo)
        raise MultipartNotSupportedError(
            f"Multipart uploads are not supported for the artifacts destination {repo.artifact_uri!r}; "
            "upload the file with a single PUT to /mlflow-artifacts/artifacts/<path>"
        )


# ---------------------------------------------------------------------------------------------------
class LocalMultipart(MultipartBackend):
    """Parts staged under the destination folder, concatenated and renamed into place on completion."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo
        self.staging = os.path.join(os.path.realpath(repo.root), STAGING_DIR)

    def _dir(self, upload_id: str) -> str:
        if not isinstance(upload_id, str) or not _LOCAL_ID.match(upload_id):
            raise _bad_upload_id(upload_id)
        return os.path.join(self.staging, upload_id)

    def _manifest(self, folder: str, dest: str) -> dict:
        try:
            with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
                manifest = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            raise ResourceNotFoundError(
                f"No multipart upload {os.path.basename(folder)!r} in progress: it was completed, aborted "
                "or never created. Start a new one with mpu/create"
            ) from None
        if manifest.get("path") != dest:
            # Same answer as an unknown id: an upload of another artifact is not revealed.
            raise ResourceNotFoundError(f"No multipart upload {os.path.basename(folder)!r} in progress for {dest!r}")
        return manifest  # type: ignore[no-any-return]

    def sweep(self, force: bool = False) -> int:
        """Remove uploads untouched for ``HF_MLTRACK_MULTIPART_STALE_SECONDS``; the number removed.

        An upload's age is that of its newest file (every part refreshes it), so a slow upload that is
        still sending parts is never swept. Runs at most every `SWEEP_INTERVAL_SECONDS` unless ``force``.
        """
        now = time.time()
        if not force and now - _last_sweep.get(self.staging, 0.0) < SWEEP_INTERVAL_SECONDS:
            return 0
        _last_sweep[self.staging] = now
        cutoff = now - max(0.0, _env.MULTIPART_STALE_SECONDS.get())
        removed = 0
        with suppress(OSError):
            for entry in os.scandir(self.staging):
                with suppress(OSError):
                    if _newest_mtime(entry.path) < cutoff:
                        shutil.rmtree(entry.path, ignore_errors=True)
                        removed += 1
        return removed

    def staged_bytes(self) -> int:
        total = 0
        with suppress(OSError):
            for dirpath, _dirs, files in os.walk(self.staging):
                for name in files:
                    with suppress(OSError):
                        total += os.lstat(os.path.join(dirpath, name)).st_size
        return total

    def _check_room(self, size: int) -> None:
        limit = _env.MULTIPART_STAGING_MAX_BYTES.get()
        staged = self.staged_bytes()
        if staged + size > limit:
            self.sweep(force=True)
            staged = self.staged_bytes()
        if staged + size > limit:
            raise StagingFullError(
                f"Multipart staging is full: {staged} bytes of unfinished uploads are staged and this part "
                f"has {size}, over the cap of {limit} (HF_MLTRACK_MULTIPART_STAGING_MAX_BYTES). Complete or "
                "abort uploads in progress, or retry once stale ones are swept"
            )

    def create(self, dest: str, num_parts: int) -> str:
        self.repo._prepare(dest)  # validates the path (symlinks too) and refuses a folder of that name
        os.makedirs(self.staging, exist_ok=True)
        self.sweep()
        upload_id = secrets.token_hex(16)
        folder = self._dir(upload_id)
        os.mkdir(folder)
        with open(os.path.join(folder, "manifest.json"), "x", encoding="utf-8") as f:
            json.dump({"path": dest, "num_parts": num_parts, "created": time.time()}, f)
        return upload_id

    def upload_part(self, dest: str, upload_id: str, part_number: int, body: BinaryIO, size: int) -> str:
        folder = self._dir(upload_id)
        manifest = self._manifest(folder, dest)
        check_part_number(part_number, int(manifest["num_parts"]))
        self.sweep()
        self._check_room(size)
        gone = ResourceNotFoundError(
            f"Multipart upload {upload_id!r} was completed or aborted while part {part_number} was sent"
        )
        try:
            etag = self._write_part(folder, part_number, body)
        except FileNotFoundError:  # aborted (or completed) while this part was on its way
            raise gone from None
        if not os.path.exists(os.path.join(folder, "manifest.json")):
            # Aborted while this part was written: its file may have kept the folder from being removed.
            _remove_upload(folder)
            raise gone
        return etag

    @staticmethod
    def _write_part(folder: str, part_number: int, body: BinaryIO) -> str:
        digest = hashlib.md5(usedforsecurity=False)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"part-{part_number:05d}{TEMP_MARKER}")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := body.read(_COPY_BUFFER):
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(tmp, os.path.join(folder, f"part-{part_number:05d}"))  # a retried part replaces it
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise
        etag = digest.hexdigest()
        with open(os.path.join(folder, f"part-{part_number:05d}.etag"), "w", encoding="ascii") as f:
            f.write(etag)
        return etag

    def complete(self, dest: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        folder = self._dir(upload_id)
        manifest = self._manifest(folder, dest)
        num_parts = int(manifest["num_parts"])
        numbers = [n for n, _ in parts]
        if numbers != list(range(1, len(numbers) + 1)) or not numbers or len(numbers) > num_parts:
            raise InvalidParameterError(
                f"parts must list part numbers 1..N in order (N <= {num_parts}), got {numbers[:20]}"
            )
        for number, etag in parts:
            try:
                with open(os.path.join(folder, f"part-{number:05d}.etag"), encoding="ascii") as f:
                    stored = f.read().strip()
            except FileNotFoundError:
                raise InvalidParameterError(
                    f"Part {number} of upload {upload_id!r} was never uploaded: PUT it before completing"
                ) from None
            if etag.strip('"') != stored:
                raise InvalidParameterError(
                    f"Part {number} of upload {upload_id!r} has etag {stored!r}, not {etag!r}: re-upload it"
                )
        # Claim the upload: of two concurrent completes only one wins the rename; late parts get 404.
        claimed = f"{folder}{TEMP_MARKER}completing-{secrets.token_hex(4)}"
        try:
            os.rename(folder, claimed)
        except FileNotFoundError:
            raise ResourceNotFoundError(f"Multipart upload {upload_id!r} was completed or aborted") from None
        try:
            final = self.repo._prepare(dest)
            fd, assembled = tempfile.mkstemp(dir=claimed, prefix=f"assembled{TEMP_MARKER}")
            with os.fdopen(fd, "wb") as out:
                for number, _ in parts:
                    with open(os.path.join(claimed, f"part-{number:05d}"), "rb") as part:
                        shutil.copyfileobj(part, out, _COPY_BUFFER)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.replace(assembled, final)  # same file system: the artifact appears whole, atomically
            except OSError:  # pragma: no cover - a destination folder on another file system
                from ..artifacts._fileio import atomic_path

                with atomic_path(final) as tmp:
                    shutil.copyfile(assembled, tmp)
        finally:
            shutil.rmtree(claimed, ignore_errors=True)

    def abort(self, dest: str, upload_id: str) -> None:
        folder = self._dir(upload_id)
        self._manifest(folder, dest)
        _remove_upload(folder)


def _remove_upload(folder: str) -> None:
    """Remove an upload's staging folder; a part being written into it at that moment can make one pass
    fail (the folder is not empty yet), so it is retried briefly instead of leaving it for the sweep."""
    for _ in range(20):
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.exists(folder):
            return
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------------
class S3Multipart(MultipartBackend):
    """S3's multipart upload; the server forwards every part (clients hold no S3 credentials)."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo

    @staticmethod
    def _encode(s3_upload_id: str) -> str:
        return "s3-" + base64.urlsafe_b64encode(s3_upload_id.encode()).decode().rstrip("=")

    @staticmethod
    def _decode(upload_id: str) -> str:
        if not isinstance(upload_id, str) or not _S3_ID.match(upload_id):
            raise _bad_upload_id(upload_id)
        raw = upload_id[3:]
        try:
            return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _bad_upload_id(upload_id) from None

    def _call(self, action: str, dest: str, **kwargs: Any) -> dict:
        from botocore.exceptions import ClientError

        key = self.repo._key(dest)
        try:
            return getattr(self.repo.client, action)(Bucket=self.repo.bucket, Key=key, **kwargs)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", str(exc))
            if code in ("NoSuchUpload", "NoSuchKey", "404"):
                raise ResourceNotFoundError(
                    f"No multipart upload in progress for {dest!r} with this upload_id ({message})"
                ) from None
            if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidArgument"):
                raise InvalidParameterError(f"S3 refused the multipart upload of {dest!r}: {message}") from None
            where = f"s3://{self.repo.bucket}/{key}"
            raise MlTrackException(f"S3 {action} for {where} failed: {message}") from exc

    def _sweep_key(self) -> str:
        return f"s3://{self.repo.bucket}/{self.repo.prefix}"

    def sweep(self, force: bool = False) -> int:
        """Abort this destination's uploads untouched for ``HF_MLTRACK_MULTIPART_STALE_SECONDS``; how many.

        An upload's age is that of its newest part (its initiation when it has none), as for local
        staging, so a slow upload still sending parts is kept. S3 bills the parts of an abandoned upload
        until it is aborted. Only uploads under the destination's prefix are looked at; a destination at
        a bucket's root is not swept (other writers' uploads may live there: a bucket lifecycle rule,
        ``AbortIncompleteMultipartUpload``, covers it). Best effort: an S3 error leaves the uploads for
        the next sweep.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        now = time.time()
        key = self._sweep_key()
        if not force and now - _last_sweep.get(key, 0.0) < SWEEP_INTERVAL_SECONDS:
            return 0
        _last_sweep[key] = now
        if not self.repo.prefix:
            return 0
        cutoff = now - max(0.0, _env.MULTIPART_STALE_SECONDS.get())
        client, bucket, prefix = self.repo.client, self.repo.bucket, f"{self.repo.prefix}/"
        removed = 0
        try:
            page: dict[str, Any] = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
            for _ in range(_SWEEP_MAX_PAGES):
                for upload in page.get("Uploads", []):
                    with suppress(ClientError):  # e.g. completed or aborted meanwhile: the next one
                        if upload["Initiated"].timestamp() < cutoff and self._newest_part(upload) < cutoff:
                            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                            removed += 1
                if not page.get("IsTruncated"):
                    break
                page = client.list_multipart_uploads(
                    Bucket=bucket,
                    Prefix=prefix,
                    KeyMarker=page.get("NextKeyMarker", ""),
                    UploadIdMarker=page.get("NextUploadIdMarker", ""),
                )
        except (BotoCoreError, ClientError):
            pass
        return removed

    def _newest_part(self, upload: dict) -> float:
        """When the newest part of ``upload`` was written (its initiation if it has none)."""
        newest = upload["Initiated"].timestamp()
        kwargs: dict[str, Any] = {}
        for _ in range(_SWEEP_MAX_PAGES):
            page = self.repo.client.list_parts(
                Bucket=self.repo.bucket, Key=upload["Key"], UploadId=upload["UploadId"], **kwargs
            )
            newest = max([newest, *(p["LastModified"].timestamp() for p in page.get("Parts", []))])
            if not page.get("IsTruncated"):
                break
            kwargs = {"PartNumberMarker": page["NextPartNumberMarker"]}
        return newest

    def _sweep_in_background(self) -> None:
        # S3 round trips: never on the request's time; at most once per interval per destination (the
        # time is taken here, so parallel part uploads start one sweep, not one each), the first one an
        # interval after the process first uploads there (not in the middle of its first upload).
        key = self._sweep_key()
        now = time.time()
        if now - _last_sweep.setdefault(key, now) >= SWEEP_INTERVAL_SECONDS:
            _last_sweep[key] = now
            sweep = functools.partial(self.sweep, force=True)
            threading.Thread(target=sweep, name="hf-mltrack-s3-multipart-sweep", daemon=True).start()

    def create(self, dest: str, num_parts: int) -> str:
        self._sweep_in_background()
        return self._encode(self._call("create_multipart_upload", dest)["UploadId"])

    def upload_part(self, dest: str, upload_id: str, part_number: int, body: BinaryIO, size: int) -> str:
        self._sweep_in_background()
        s3_id = self._decode(upload_id)
        response = self._call(
            "upload_part", dest, UploadId=s3_id, PartNumber=part_number, Body=body, ContentLength=size
        )
        return str(response["ETag"]).strip('"')

    def complete(self, dest: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        s3_id = self._decode(upload_id)
        numbers = [n for n, _ in parts]
        if not numbers or numbers != sorted(set(numbers)):
            raise InvalidParameterError(f"parts must list distinct part numbers in order, got {numbers[:20]}")
        self._call(
            "complete_multipart_upload",
            dest,
            UploadId=s3_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{e.strip(chr(34))}"'} for n, e in parts]},
        )

    def abort(self, dest: str, upload_id: str) -> None:
        self._call("abort_multipart_upload", dest, UploadId=self._decode(upload_id))


def parse_parts(value: Any) -> list[tuple[int, str]]:
    """The ``parts`` of a complete request: ``[{"part_number", "etag"}, ...]`` -> ``[(number, etag)]``."""
    if not isinstance(value, list) or not value or len(value) > MAX_PARTS:
        raise InvalidParameterError(
            f'parts must be a non-empty list of at most {MAX_PARTS} {{"part_number", "etag"}} objects'
        )
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("etag"), str) or not item["etag"]:
            raise InvalidParameterError(f'Each part needs "part_number" and a string "etag", got {item!r}')
        etag = item["etag"]
        if len(etag) > 200 or not re.fullmatch(r'"?[A-Za-z0-9_\-]+"?', etag):
            raise InvalidParameterError(f"Invalid etag {etag[:80]!r}")
        out.append((check_part_number(item.get("part_number")), etag))
    return out
