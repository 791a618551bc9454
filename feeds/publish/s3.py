"""An S3-compatible bucket as a publish destination (AWS S3, MinIO, Cloudflare R2, ...).

boto3 is the optional ``s3`` extra, imported only here. Credentials, and by default the
endpoint and region, come from boto3's usual sources: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ``AWS_PROFILE`` and
``~/.aws/``; never from the settings file, which belongs in a repository.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from feeds.errors import DestinationError, FeedsError
from feeds.publish.plan import MD5, SHA256, Held

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
ATTEMPTS = 4  # one try and three retries of throttling, 5xx and connection errors
HEAD_THREADS = 16
SHA256_METADATA = "sha256"
"""The user metadata (``x-amz-meta-sha256``) that feeds stores with each object: the SHA-256 of
its bytes, which an ETag is not for every upload (multipart, SSE-KMS)."""


class S3Destination:
    headers = True

    def __init__(
        self, bucket: str, prefix: str, *, endpoint_url: str | None, region: str | None
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise FeedsError("s3:// destinations need boto3: pip install 'feeds[s3]'") from None
        # Only the store's answers and connection failures are reported per object; anything
        # else is a bug and should surface as one.
        self.errors: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.label = f"s3://{bucket}/{self.prefix}"
        config = Config(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"max_attempts": ATTEMPTS, "mode": "standard"},
            max_pool_connections=16,
        )
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def _key(self, path: str) -> str:
        return self.prefix + path

    def read(self, path: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(path))
            data: bytes = response["Body"].read()
        except self.errors as e:
            if _code(e) in ("NoSuchKey", "404"):
                return None
            raise DestinationError(f"cannot read {self.label}{path}: {_reason(e)}") from None
        return data

    def inventory(self, paths: Collection[str], digest: Collection[str]) -> dict[str, Held]:
        """What a listing and a HEAD of each object tell: size, the ``sha256`` metadata that feeds
        stores with each object, the ETag when it is an MD5 (one-part uploads), the headers. An
        object of ``digest`` without that metadata (uploaded by another tool or an older feeds)
        is read, to hash it."""
        wanted = set(paths)
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            listed = [
                key[len(self.prefix) :]
                for page in pages
                for key in (entry["Key"] for entry in page.get("Contents", []))
                if key[len(self.prefix) :] in wanted
            ]
            with ThreadPoolExecutor(HEAD_THREADS) as pool:
                found = list(pool.map(lambda path: self._held(path, path in digest), listed))
        except self.errors as e:
            raise DestinationError(f"cannot list {self.label}: {_reason(e)}") from None
        return {path: held for path, held in zip(listed, found, strict=True) if held is not None}

    def _held(self, path: str, digest: bool) -> Held | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(path))
        except self.errors as e:
            if _code(e) in ("NoSuchKey", "404"):
                return None  # deleted since the listing
            raise
        sha256 = head.get("Metadata", {}).get(SHA256_METADATA)
        etag = str(head.get("ETag", "")).strip('"')
        held = Held(
            sha256=sha256 if isinstance(sha256, str) and SHA256.fullmatch(sha256) else None,
            md5=etag if MD5.fullmatch(etag) else None,
            content_type=head.get("ContentType"),
            cache_control=head.get("CacheControl"),
            size=head.get("ContentLength"),
        )
        if held.sha256 is None and digest:
            data = self.read(path)
            if data is None:
                return None
            held = replace(held, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        return held

    def put(self, path: str, data: bytes, content_type: str, cache_control: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(path),
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata={SHA256_METADATA: hashlib.sha256(data).hexdigest()},
            )
        except self.errors as e:
            raise DestinationError(f"cannot upload {self.label}{path}: {_reason(e)}") from None

    def remove(self, path: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(path))
        except self.errors as e:
            raise DestinationError(f"cannot delete {self.label}{path}: {_reason(e)}") from None

    def sweep(self, paths: Collection[str]) -> list[str]:
        """Nothing to sweep: an object appears whole when its upload completes, or never."""
        return []


def _code(error: Exception) -> str:
    """The S3 error code of a botocore ClientError (``NoSuchKey``), else empty."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _reason(error: Exception) -> str:
    code = _code(error)
    if code:
        message = error.response.get("Error", {}).get("Message", "")  # type: ignore[attr-defined]
        return f"{code}: {message}".rstrip(": ") if message else code
    return str(error) or type(error).__name__
