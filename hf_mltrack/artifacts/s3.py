"""The S3-compatible artifact store (`s3://bucket/prefix`): AWS S3, MinIO, Ceph, R2, moto ...

Endpoint: `HF_MLTRACK_S3_ENDPOINT_URL`, else `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, else AWS.
Credentials and region come from the usual AWS variables and config files (boto3's own lookup).

Transfers go through boto3's transfer manager: files at least `HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB`
(8) large go up as multipart uploads in `HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB` (8) parts, sent in
parallel (boto3's and the AWS CLI's defaults, so one file goes up exactly as `upload_file` sends it);
a folder shares one pool of `HF_MLTRACK_ARTIFACTS_MAX_WORKERS` (10) threads across all its files and
parts, instead of uploading one file after the other.
Uploads are atomic on S3 itself: an object appears only once its PUT or CompleteMultipartUpload
succeeds, and a failed multipart upload is aborted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from hf_mltrack import _env
from hf_mltrack.exceptions import (
    InvalidParameterError,
    MlTrackException,
    PermissionDeniedError,
    ResourceNotFoundError,
    missing_extra,
)

from ._progress import ProgressCallback
from .base import ArtifactRepository, FileInfo, UploadItem
from .paths import join_artifact_path, validate_artifact_path

__all__ = ["S3ArtifactRepository", "get_s3_client", "s3_endpoint_url"]

_MB = 1024 * 1024
_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def s3_endpoint_url() -> str | None:
    """The S3 endpoint in use: `HF_MLTRACK_S3_ENDPOINT_URL`, else `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`."""
    return (
        _env.S3_ENDPOINT_URL.get()
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


def get_s3_client() -> Any:
    """A boto3 S3 client for the current environment (cached; boto3 clients are thread-safe)."""
    endpoint = s3_endpoint_url()
    ignore_tls = _env.S3_IGNORE_TLS.get()
    key = (
        endpoint,
        ignore_tls,
        *(
            os.environ.get(name)
            for name in (
                "AWS_REGION",
                "AWS_DEFAULT_REGION",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_PROFILE",
            )
        ),
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _create_client(endpoint, ignore_tls)
        return client


def _create_client(endpoint: str | None, ignore_tls: bool) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise missing_extra("s3:// artifact stores", "boto3", "s3") from exc
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    config = Config(
        max_pool_connections=64,
        retries={"max_attempts": 5, "mode": "standard"},
        # S3-compatible servers (MinIO, moto, Ceph) rarely do virtual-host addressing
        s3={"addressing_style": "path"} if endpoint else {},
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region or ("us-east-1" if endpoint else None),
        verify=not ignore_tls,
        config=config,
    )


def _transfer_config(max_workers: int) -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=max(5, _env.S3_MULTIPART_THRESHOLD_MB.get()) * _MB,
        multipart_chunksize=max(5, _env.S3_MULTIPART_CHUNKSIZE_MB.get()) * _MB,
        max_concurrency=max_workers,
        use_threads=max_workers > 1,
    )


def _remaining(fileobj: BinaryIO) -> int | None:
    """Bytes left to read in a seekable ``fileobj`` (None if it cannot seek)."""
    try:
        if not fileobj.seekable():
            return None
        here = fileobj.tell()
        end = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


def _subscriber(progress: ProgressCallback) -> Any:
    from s3transfer.subscribers import BaseSubscriber

    class _Progress(BaseSubscriber):
        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            progress(bytes_transferred)

    return _Progress()


@contextmanager
def _s3_errors(action: str, bucket: str, key: str) -> Iterator[None]:
    """Translate boto errors into hf_mltrack errors that name the object and the fix."""
    try:
        yield
    except MlTrackException:
        raise
    except Exception as exc:
        try:
            from boto3.exceptions import S3UploadFailedError
            from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
        except ImportError:  # pragma: no cover
            raise exc from None
        where = f"s3://{bucket}/{key}"
        cause: BaseException = exc
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
            cause = exc.__context__
        if isinstance(cause, ClientError):
            code = str(cause.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                raise ResourceNotFoundError(
                    f"Cannot {action} {where}: the bucket {bucket!r} does not exist at "
                    f"{s3_endpoint_url() or 'AWS S3'}. Create it first (or fix the artifact location)."
                ) from exc
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ResourceNotFoundError(f"Cannot {action} {where}: no such object.") from exc
            if code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise PermissionDeniedError(
                    f"Cannot {action} {where}: access denied ({code}). Check AWS_ACCESS_KEY_ID / "
                    "AWS_SECRET_ACCESS_KEY and the bucket policy."
                ) from exc
            raise MlTrackException(f"Cannot {action} {where}: {cause}") from exc
        if isinstance(exc, NoCredentialsError):
            raise PermissionDeniedError(
                f"Cannot {action} {where}: no AWS credentials found. Set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)."
            ) from exc
        if isinstance(exc, EndpointConnectionError):
            raise MlTrackException(
                f"Cannot {action} {where}: the S3 endpoint {s3_endpoint_url() or 'AWS S3'} is unreachable. "
                "Check HF_MLTRACK_S3_ENDPOINT_URL."
            ) from exc
        raise


class S3ArtifactRepository(ArtifactRepository):
    """Artifacts under `s3://<bucket>/<prefix>` on an S3-compatible object store.

    Args:
        artifact_uri (`str`): `s3://bucket/prefix`.
        client (*optional*): a boto3 S3 client to use instead of one built from the environment.
    """

    def __init__(self, artifact_uri: str, *, client: Any = None) -> None:
        super().__init__(artifact_uri)
        parts = urlsplit(artifact_uri)
        if parts.scheme.lower() != "s3" or not parts.netloc:
            raise InvalidParameterError(f"Invalid S3 artifact URI {artifact_uri!r}: expected s3://<bucket>/<prefix>.")
        self.bucket = parts.netloc
        self.prefix = validate_artifact_path(parts.path.lstrip("/"), what="S3 key prefix")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = get_s3_client()
        return self._client

    def _key(self, rel: str) -> str:
        return join_artifact_path(self.prefix, rel)

    def _dir_prefix(self, rel: str) -> str:
        key = self._key(rel)
        return key + "/" if key else ""

    def _rel(self, key: str, base_prefix: str, base_rel: str) -> str | None:
        """The artifact path of `key` listed under `base_prefix`; `None` for folder markers."""
        name = key[len(base_prefix) :]
        if not name.strip("/"):
            return None
        name = validate_artifact_path(name, what=f"stored S3 key {key!r}")
        return join_artifact_path(base_rel, name)

    # ------------------------------------------------------------------ uploads
    def _upload_file(self, local_file: str, dest: str, progress: ProgressCallback) -> None:
        key = self._key(dest)
        with _s3_errors("upload to", self.bucket, key):
            self.client.upload_file(
                local_file, self.bucket, key, Config=_transfer_config(self.max_workers), Callback=progress
            )

    def _upload_files(self, items: list[UploadItem], progress: ProgressCallback) -> None:
        if len(items) <= 1:
            return super()._upload_files(items, progress)
        from boto3.s3.transfer import create_transfer_manager

        subscriber = _subscriber(progress)
        with _s3_errors("upload to", self.bucket, self._key("")):
            with create_transfer_manager(self.client, _transfer_config(self.max_workers)) as manager:
                futures = [
                    manager.upload(it.local_path, self.bucket, self._key(it.artifact_path), subscribers=[subscriber])
                    for it in items
                ]
                for future in futures:
                    future.result()

    def _upload_stream(self, fileobj: BinaryIO, dest: str) -> None:
        key = self._key(dest)
        with _s3_errors("upload to", self.bucket, key):
            size = _remaining(fileobj)
            if size is not None and size < _transfer_config(1).multipart_threshold:
                # One PutObject: boto3's transfer manager would start and join worker threads for it,
                # ~1.6 ms more of the tracking server's CPU per small upload through its proxy.
                self.client.put_object(Bucket=self.bucket, Key=key, Body=fileobj)
                return
            self.client.upload_fileobj(fileobj, self.bucket, key, Config=_transfer_config(self.max_workers))

    # ------------------------------------------------------------------ listing
    def _list_dir(self, path: str) -> list[FileInfo]:
        prefix = self._dir_prefix(path)
        out: list[FileInfo] = []
        with _s3_errors("list", self.bucket, prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    rel = self._rel(common["Prefix"], prefix, path)
                    if rel is not None:
                        out.append(FileInfo(rel, True, None))
                for obj in page.get("Contents", []):
                    rel = self._rel(obj["Key"], prefix, path)
                    if rel is not None:
                        out.append(FileInfo(rel, False, int(obj["Size"])))
        return out

    def _walk_files(self, path: str) -> list[FileInfo]:
        prefix = self._dir_prefix(path)
        out: list[FileInfo] = []
        with _s3_errors("list", self.bucket, prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    rel = self._rel(obj["Key"], prefix, path)
                    if rel is not None:
                        out.append(FileInfo(rel, False, int(obj["Size"])))
        return out

    def _stat(self, path: str) -> FileInfo | None:
        key = self._key(path)
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            return FileInfo(path, False, int(head["ContentLength"]))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchKey", "NotFound"):
                with _s3_errors("read", self.bucket, key):
                    raise
        with _s3_errors("list", self.bucket, key):
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key + "/", MaxKeys=1)
        return FileInfo(path, True, None) if listing.get("KeyCount", 0) else None

    # ------------------------------------------------------------------ downloads and reads
    def _download_file(self, path: str, local_file: str, progress: ProgressCallback) -> None:
        # boto3 writes to a temporary name and renames on success: no partial file under local_file
        key = self._key(path)
        with _s3_errors("download", self.bucket, key):
            self.client.download_file(
                self.bucket, key, local_file, Config=_transfer_config(self.max_workers), Callback=progress
            )

    def _download_files(self, items: list[tuple[str, str]], progress: ProgressCallback) -> None:
        if len(items) <= 1:
            return super()._download_files(items, progress)
        from boto3.s3.transfer import create_transfer_manager

        subscriber = _subscriber(progress)
        with _s3_errors("download", self.bucket, self._key("")):
            with create_transfer_manager(self.client, _transfer_config(self.max_workers)) as manager:
                futures = [
                    manager.download(self.bucket, self._key(rel), local, subscribers=[subscriber])
                    for rel, local in items
                ]
                for future in futures:
                    future.result()

    def _open_read(self, path: str) -> BinaryIO:
        key = self._key(path)
        with _s3_errors("read", self.bucket, key):
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]

    # ------------------------------------------------------------------ deletion
    def _delete(self, path: str) -> None:
        keys: list[str] = [self._key(path)] if path else []
        prefix = self._dir_prefix(path)
        with _s3_errors("delete", self.bucket, self._key(path)):
            # raw keys, unvalidated: deleting must also clear objects whose names are not safe paths
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
            for start in range(0, len(keys), 1000):
                batch = [{"Key": k} for k in keys[start : start + 1000]]
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                # DeleteObjects answers 200 even when some keys failed: they are listed under "Errors"
                failed = answer.get("Errors") or []
                if failed:
                    first = failed[0]
                    raise MlTrackException(
                        f"Could not delete {len(failed)} of {len(batch)} objects under s3://{self.bucket}/{prefix}, "
                        f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                        + ". Check the credentials' s3:DeleteObject permission (and object locks), then retry."
                    )
