"""S3-compatible storage (Cloudflare R2, AWS S3) through boto3; blocking calls run in worker threads."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, cast

import anyio
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from voicegate.storage.base import (
    CHUNK_SIZE,
    ObjectMissing,
    ObjectStream,
    StorageError,
    StorageTooLarge,
    check_key,
    check_ttl,
    content_disposition,
)
from voicegate.storage.lifecycle import BucketRule

if TYPE_CHECKING:
    from botocore.config import _RetryDict as RetriesConfig
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import (
        CompletedPartTypeDef,
        GetObjectRequestTypeDef,
        LifecycleRuleOutputTypeDef,
        LifecycleRuleTypeDef,
    )

log = logging.getLogger(__name__)

# R2 requires every part but the last to have the same size, so parts are cut at exactly this size.
PART_SIZE = 8 * 1024 * 1024
_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
PING_TIMEOUT_S = 2.0
_NO_BUCKET_CODES = frozenset({"NoSuchBucket", "NotFound", "404"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _s3_errors(operation: str, key: str | None = None) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if key is not None and _error_code(exc) in _MISSING_CODES:
            raise ObjectMissing(key) from exc
        raise StorageError(f"{operation} failed: {exc}") from exc
    except (BotoCoreError, OSError) as exc:
        raise StorageError(f"{operation} failed: {exc}") from exc


def _client_config(endpoint_url: str | None, *, timeout_s: float = 60, retry: bool = True) -> Config:
    retries: RetriesConfig = {"max_attempts": 3, "mode": "standard"} if retry else {"total_max_attempts": 1}
    if endpoint_url is None:
        return Config(
            signature_version="s3v4",
            connect_timeout=min(5, timeout_s),
            read_timeout=timeout_s,
            retries=retries,
        )
    # S3-compatible endpoints: path-style addressing works for any host (IPs, custom domains), and the
    # flexible checksums botocore adds by default are not accepted by every S3-compatible service.
    return Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        connect_timeout=min(5, timeout_s),
        read_timeout=timeout_s,
        retries=retries,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


# One boto3 session for the process: each new session loads and parses botocore's service models and endpoint rules
# again (~150 ms of CPU), which the session then caches for every client it makes. A session is not thread-safe,
# its clients are, so clients are made under a lock.
_session_lock = threading.Lock()
_session: boto3.session.Session | None = None


def _new_client(
    endpoint_url: str | None,
    config: Config,
    *,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> S3Client:
    """A client of the shared session. Credentials left unset fall back to boto3's default chain (environment,
    profile, instance role), resolved once per process by the session."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=config,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )


class S3Backend:
    def __init__(
        self,
        *,
        name: str,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        public_endpoint_url: str | None = None,
    ) -> None:
        self.name = name
        self.bucket = bucket
        self.region = region
        client = partial(_new_client, region=region, access_key_id=access_key_id, secret_access_key=secret_access_key)
        self._client: S3Client = client(endpoint_url, _client_config(endpoint_url))
        # The readiness check must answer within seconds: one attempt, short timeouts, its own connection pool.
        self._ping_client: S3Client = client(
            endpoint_url, _client_config(endpoint_url, timeout_s=PING_TIMEOUT_S, retry=False)
        )
        # SigV4 signs the host, so URLs handed to users must be signed for the host they will download from.
        self._presign_client: S3Client = (
            client(public_endpoint_url, _client_config(public_endpoint_url)) if public_endpoint_url else self._client
        )

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        check_key(key)
        with _s3_errors("put_object"):
            await anyio.to_thread.run_sync(
                partial(self._client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
            )
        return len(data)

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int | None = None
    ) -> int:
        """Objects smaller than one part go up with a single PUT, larger ones as a multipart upload of
        PART_SIZE parts, aborted (leaving nothing behind) on failure, cancellation or past `max_bytes`."""
        check_key(key)
        buffer = bytearray()
        total = 0
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        try:
            async for chunk in chunks:
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:
                    raise StorageTooLarge(max_bytes)
                buffer += chunk
                while len(buffer) >= PART_SIZE:
                    if upload_id is None:
                        upload_id = await self._start_multipart(key, content_type)
                    part = bytes(buffer[:PART_SIZE])
                    del buffer[:PART_SIZE]
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, part))
            if upload_id is None:
                await self.put_bytes(key, bytes(buffer), content_type)
                return total
            if buffer:
                parts.append(await self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
            with _s3_errors("complete_multipart_upload"):
                await anyio.to_thread.run_sync(
                    partial(
                        self._client.complete_multipart_upload,
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                    )
                )
        except BaseException:
            if upload_id is not None:
                with anyio.CancelScope(shield=True):
                    await self._abort_multipart(key, upload_id)
            raise
        return total

    async def _start_multipart(self, key: str, content_type: str) -> str:
        with _s3_errors("create_multipart_upload"):
            response = await anyio.to_thread.run_sync(
                partial(
                    self._client.create_multipart_upload,
                    Bucket=self.bucket,
                    Key=key,
                    ContentType=content_type,
                )
            )
        return response["UploadId"]

    async def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> CompletedPartTypeDef:
        with _s3_errors("upload_part"):
            response = await anyio.to_thread.run_sync(
                partial(
                    self._client.upload_part,
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                )
            )
        return {"ETag": response["ETag"], "PartNumber": number}

    async def _abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await anyio.to_thread.run_sync(
                partial(self._client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id)
            )
        except (BotoCoreError, ClientError, OSError):
            # A lifecycle rule for incomplete multipart uploads is the backstop for this leftover.
            log.warning("abort_multipart_upload_failed", extra={"key": key, "upload_id": upload_id}, exc_info=True)

    async def get_bytes(self, key: str) -> bytes:
        stream = await self.open_stream(key)
        try:
            return b"".join([chunk async for chunk in stream])
        finally:
            await stream.aclose()

    async def open_stream(self, key: str) -> ObjectStream:
        check_key(key)
        with _s3_errors("get_object", key):
            response = await anyio.to_thread.run_sync(partial(self._client.get_object, Bucket=self.bucket, Key=key))
        body = response["Body"]

        async def read() -> bytes:
            with _s3_errors("get_object", key):
                return await anyio.to_thread.run_sync(body.read, CHUNK_SIZE)

        async def close() -> None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(body.close)

        return ObjectStream(read, close, content_length=response.get("ContentLength"))

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            with _s3_errors("head_object", key):
                await anyio.to_thread.run_sync(partial(self._client.head_object, Bucket=self.bucket, Key=key))
        except ObjectMissing:
            return False
        return True

    async def delete(self, key: str) -> None:
        check_key(key)
        with _s3_errors("delete_object"):
            await anyio.to_thread.run_sync(partial(self._client.delete_object, Bucket=self.bucket, Key=key))

    async def move(self, src_key: str, dst_key: str) -> None:
        """Server-side `copy_object` then `delete_object`: the bytes never leave the bucket. A crash in between
        leaves both copies, and moving again finishes the job. (A single copy is limited to 5 GiB.)"""
        check_key(src_key)
        check_key(dst_key)
        with _s3_errors("copy_object", src_key):
            await anyio.to_thread.run_sync(
                partial(
                    self._client.copy_object,
                    Bucket=self.bucket,
                    Key=dst_key,
                    CopySource={"Bucket": self.bucket, "Key": src_key},
                )
            )
        await self.delete(src_key)

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        """One `ListObjectsV2` page (up to 1000 keys) at a time, each fetched in a worker thread."""
        paginator = self._client.get_paginator("list_objects_v2")
        pages = iter(paginator.paginate(Bucket=self.bucket, Prefix=prefix))
        while True:
            with _s3_errors("list_objects_v2"):
                page = await anyio.to_thread.run_sync(next, pages, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                yield item["Key"]

    async def presigned_url(self, key: str, ttl: timedelta, filename: str | None = None) -> str:
        check_key(key)
        params: GetObjectRequestTypeDef = {"Bucket": self.bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        # Pure computation unless credentials still have to be resolved (instance role), hence the thread.
        with _s3_errors("generate_presigned_url"):
            return await anyio.to_thread.run_sync(
                partial(
                    self._presign_client.generate_presigned_url,
                    "get_object",
                    Params=dict(params),
                    ExpiresIn=check_ttl(ttl),
                )
            )

    async def ping(self) -> None:
        with _s3_errors(f"head_bucket {self.bucket!r}"):
            # Abandoned on cancellation (the caller's timeout): the thread ends by itself within PING_TIMEOUT_S.
            await anyio.to_thread.run_sync(
                partial(self._ping_client.head_bucket, Bucket=self.bucket), abandon_on_cancel=True
            )

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (tests, development; production buckets are provisioned)."""
        try:
            await anyio.to_thread.run_sync(partial(self._client.head_bucket, Bucket=self.bucket))
            return
        except ClientError as exc:
            if _error_code(exc) not in _NO_BUCKET_CODES:
                raise StorageError(f"head_bucket {self.bucket!r} failed: {exc}") from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"head_bucket {self.bucket!r} failed: {exc}") from exc
        with _s3_errors(f"create_bucket {self.bucket!r}"):
            if self.region in ("us-east-1", "auto"):
                await anyio.to_thread.run_sync(partial(self._client.create_bucket, Bucket=self.bucket))
            else:
                await anyio.to_thread.run_sync(
                    partial(
                        self._client.create_bucket,
                        Bucket=self.bucket,
                        CreateBucketConfiguration={
                            "LocationConstraint": cast("BucketLocationConstraintType", self.region)
                        },
                    )
                )

    async def lifecycle_rules(self) -> list[BucketRule]:
        """The bucket's lifecycle rules (none when it has no configuration)."""
        try:
            response = await anyio.to_thread.run_sync(
                partial(self._client.get_bucket_lifecycle_configuration, Bucket=self.bucket)
            )
        except ClientError as exc:
            if _error_code(exc) == "NoSuchLifecycleConfiguration":
                return []
            raise StorageError(f"get_bucket_lifecycle_configuration failed: {exc}") from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"get_bucket_lifecycle_configuration failed: {exc}") from exc
        return [_from_lifecycle(rule) for rule in response.get("Rules", [])]

    async def put_lifecycle_rules(self, rules: list[BucketRule]) -> None:
        """Replace the bucket's lifecycle configuration with `rules` (S3 and R2 take the same call)."""
        configuration: list[LifecycleRuleTypeDef] = [_to_lifecycle(rule) for rule in rules]
        with _s3_errors("put_bucket_lifecycle_configuration"):
            await anyio.to_thread.run_sync(
                partial(
                    self._client.put_bucket_lifecycle_configuration,
                    Bucket=self.bucket,
                    LifecycleConfiguration={"Rules": configuration},
                )
            )

    def close(self) -> None:
        """Release the HTTP connection pools (call at shutdown)."""
        self._client.close()
        self._ping_client.close()
        if self._presign_client is not self._client:
            self._presign_client.close()


def _to_lifecycle(rule: BucketRule) -> LifecycleRuleTypeDef:
    entry: LifecycleRuleTypeDef = {
        "ID": rule.id,
        "Filter": {"Prefix": rule.prefix},
        "Status": "Enabled" if rule.enabled else "Disabled",
    }
    if rule.expiration_days is not None:
        entry["Expiration"] = {"Days": rule.expiration_days}
    return entry


def _from_lifecycle(rule: LifecycleRuleOutputTypeDef) -> BucketRule:
    rule_filter = rule.get("Filter", {})
    prefix = rule_filter.get("Prefix", rule_filter.get("And", {}).get("Prefix", rule.get("Prefix", "")))
    return BucketRule(
        id=rule.get("ID", ""),
        prefix=prefix,
        expiration_days=rule.get("Expiration", {}).get("Days"),
        enabled=rule["Status"] == "Enabled",
    )
