"""Peak memory of the gateway process while it receives one large upload (`make bench-upload`).

Starts the bundled simulator and the gateway as real processes (SQLite, local storage), streams a
`BENCH_UPLOAD_MB` (default 200) MB audio file to `POST /api/v1/resemble/uploads` from this process without ever
holding it in memory, and samples the gateway's resident memory from /proc while the upload runs. The point is
the ratio: peak memory must stay far below the file size.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.e2e.servers import free_port, serve

ADMIN_KEY = "bench-admin-key"
CHUNK = 1024 * 1024


def wav_header(data_bytes: int, rate: int = 16000) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def multipart_body(boundary: str, size_bytes: int) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\naudio_job_input\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    payload = size_bytes - 44
    yield wav_header(payload)
    block = bytes(range(256)) * (CHUNK // 256)
    sent = 0
    while sent < payload:
        piece = block[: min(CHUNK, payload - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def gateway_pid(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"voicegate.cli serve" in cmdline and str(port).encode() in cmdline:
                return int(entry.name)
    raise RuntimeError("gateway process not found")


def main() -> int:
    size_mb = int(os.environ.get("BENCH_UPLOAD_MB", "200"))
    work = Path(tempfile.mkdtemp(prefix="voicegate-upload-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "VAR_DIR": str(work),
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}",
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "b" * 48,
        "PUBLIC_BASE_URL": base,
        "UPLOAD_MAX_BYTES": str((size_mb + 10) * 1024 * 1024),
    }
    with serve(["serve", "--port", str(port)], env, f"{base}/healthz", work / "gateway.log"):
        pid = gateway_pid(port)
        baseline, _ = rss_kib(pid)
        user = httpx.post(
            f"{base}/api/v1/admin/users",
            json={"email": "upload-bench@example.com", "credits_usd": "1"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ).json()
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(pid)[0])
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        boundary = "voicegateuploadbench"
        started = time.perf_counter()
        response = httpx.post(
            f"{base}/api/v1/resemble/uploads",
            content=multipart_body(boundary, size_mb * 1024 * 1024),
            headers={
                "Authorization": f"Bearer {user['api_key']}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        _, hwm = rss_kib(pid)
    if response.status_code not in (200, 201):
        print(f"upload failed: {response.status_code} {response.text[:500]}")
        return 1
    body = response.json()
    peak_mib, base_mib = peak[0] / 1024, baseline / 1024
    stored_mib = body["size_bytes"] / 2**20
    print(f"upload of {size_mb} MiB: {response.status_code}, stored {stored_mib:.1f} MiB in {elapsed:.1f} s")
    print(
        f"gateway RSS: before {base_mib:.1f} MiB, peak during upload {peak_mib:.1f} MiB "
        f"(+{peak_mib - base_mib:.1f} MiB), process high-water mark {hwm / 1024:.1f} MiB"
    )
    print(f"peak growth / file size: {(peak_mib - base_mib) / size_mb:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
