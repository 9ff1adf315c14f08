"""Artifact transfer benchmark: hf_mltrack vs `cp -r` (local) and vs raw boto3 `upload_file` (S3).

Each comparison runs its two sides back to back, alternating which goes first, `--repeat` times; the
ratio reported is the median of the per-pair ratios, which stays meaningful on a shared, noisy machine.

1. `log_artifacts` of a folder of model shards into a local store vs `cp -r` of the same folder
   (target: <= 1.2x). Also shown: `link_mode="hardlink"` (what the default `"auto"` mode does for
   read-only sources).
2. S3 upload throughput of `log_artifacts` vs raw boto3 `upload_file` (default TransferConfig, one file
   after the other) of the same folder, and of its largest shard alone, against the same S3-compatible
   server: moto, started in a separate process on loopback (target: >= 0.8x).

    python benchmarks/bench_artifacts.py                      # 1 GiB local folder, 256 MiB to S3
    python benchmarks/bench_artifacts.py --size-mb 256 --s3-size-mb 128 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MB = 1024 * 1024


def make_model_folder(root: Path, size_mb: int, shards: int) -> Path:
    """A folder shaped like a saved model: N safetensors shards plus small config/tokenizer files."""
    root.mkdir(parents=True, exist_ok=True)
    block = os.urandom(16 * MB)
    per_shard = size_mb * MB // shards
    for i in range(shards):
        with open(root / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", "wb") as f:
            left = per_shard
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n
    (root / "config.json").write_text('{"model_type": "gpt2", "n_layer": 2}')
    (root / "generation_config.json").write_text('{"max_new_tokens": 64}')
    tok = root / "tokenizer"
    tok.mkdir(exist_ok=True)
    (tok / "tokenizer.json").write_text("{}" * 50_000)
    (tok / "special_tokens_map.json").write_text("{}")
    return root


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def timed(fn: Callable[[], object], cleanup: Callable[[], object]) -> float:
    if hasattr(os, "sync"):
        os.sync()  # flush dirty pages so one run's writeback does not slow the next one down
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    cleanup()
    return elapsed


Side = tuple[Callable[[], object], Callable[[], object]]  # (run, cleanup)


def compare(base: Side, ours: Side, repeat: int) -> tuple[list[float], list[float], float]:
    """Run base and ours back to back `repeat` times; returns both timings and the median ratio ours/base."""
    t_base, t_ours = [], []
    for i in range(repeat):
        if i % 2 == 0:
            t_base.append(timed(*base))
            t_ours.append(timed(*ours))
        else:
            t_ours.append(timed(*ours))
            t_base.append(timed(*base))
    return t_base, t_ours, statistics.median(o / b for o, b in zip(t_ours, t_base, strict=True))


def row(name: str, times: list[float], size: int, extra: str = "") -> None:
    med = statistics.median(times)
    print(f"  {name:<36} median {med:7.3f} s  {size / MB / med:8.0f} MiB/s  {extra}")


def bench_local(work: Path, size_mb: int, shards: int, repeat: int) -> None:
    from hf_mltrack.artifacts import get_artifact_repository

    src = make_model_folder(work / "src", size_mb, shards)
    total = folder_bytes(src)
    dst, store = work / "dst", work / "store"

    def rm(path: Path) -> Callable[[], None]:
        return lambda: shutil.rmtree(path, ignore_errors=True)

    def log(mode: str | None = None) -> Callable[[], None]:
        return lambda: get_artifact_repository(str(store), link_mode=mode).log_artifacts(src, "model")

    cp = (lambda: subprocess.run(["cp", "-r", str(src), str(dst)], check=True), rm(dst))
    t_cp, t_log, ratio = compare(cp, (log(), rm(store)), repeat)
    t_cp2, t_link, ratio_link = compare(cp, (log("hardlink"), rm(store)), repeat)
    print(f"\n== local store: {total / MB:.0f} MiB ({shards} shards + 4 small files), {repeat} pairs")
    row("cp -r", t_cp + t_cp2, total)
    row("log_artifacts (default: copy)", t_log, total, f"ratio vs cp -r {ratio:.2f}x (target <= 1.2x)")
    row("log_artifacts, link_mode=hardlink", t_link, total, f"ratio vs cp -r {ratio_link:.3f}x")
    shutil.rmtree(src, ignore_errors=True)


def start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto server did not start")


def bench_s3(work: Path, size_mb: int, shards: int, repeat: int) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    proc, endpoint = start_moto()
    os.environ["HF_MLTRACK_S3_ENDPOINT_URL"] = endpoint
    try:
        from hf_mltrack.artifacts import get_artifact_repository
        from hf_mltrack.artifacts.s3 import get_s3_client

        client = get_s3_client()
        client.create_bucket(Bucket="bench")
        src = make_model_folder(work / "s3src", size_mb, shards)
        files = sorted(p for p in src.rglob("*") if p.is_file())
        big = max(files, key=lambda p: p.stat().st_size)
        total = folder_bytes(src)

        def clear() -> None:
            get_artifact_repository("s3://bench").delete_artifacts()

        def raw_folder() -> None:
            for p in files:  # the plain way: one upload_file after the other, default TransferConfig
                client.upload_file(str(p), "bench", "raw/" + p.relative_to(src).as_posix())

        t_raw, t_ours, ratio = compare(
            (raw_folder, clear),
            (lambda: get_artifact_repository("s3://bench/ours").log_artifacts(src), clear),
            repeat,
        )
        t_raw1, t_ours1, ratio1 = compare(
            (lambda: client.upload_file(str(big), "bench", "raw/" + big.name), clear),
            (lambda: get_artifact_repository("s3://bench/ours").log_artifact(big), clear),
            repeat,
        )
        print(f"\n== S3 (moto server in its own process, loopback): {total / MB:.0f} MiB folder, {repeat} pairs")
        row("boto3 upload_file, folder", t_raw, total)
        row("log_artifacts, folder", t_ours, total, f"throughput vs boto3 {1 / ratio:.2f}x (target >= 0.8x)")
        row(f"boto3 upload_file, {big.stat().st_size // MB} MiB shard", t_raw1, big.stat().st_size)
        row("log_artifact, same shard", t_ours1, big.stat().st_size, f"throughput vs boto3 {1 / ratio1:.2f}x")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="local folder size (MiB)")
    parser.add_argument("--s3-size-mb", type=int, default=256, help="folder size uploaded to S3 (MiB)")
    parser.add_argument("--shards", type=int, default=4, help="number of weight shards")
    parser.add_argument("--repeat", type=int, default=5, help="pairs of runs per comparison")
    parser.add_argument("--workdir", default=None, help="scratch folder (defaults to a temp folder)")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--progress", action="store_true", help="show hf_mltrack's progress bars")
    args = parser.parse_args()
    os.environ["HF_MLTRACK_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "1" if args.progress else "0"
    work = Path(tempfile.mkdtemp(prefix="bench-artifacts-", dir=args.workdir))
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, scratch {work}")
        if not args.skip_local:
            bench_local(work, args.size_mb, args.shards, args.repeat)
        if not args.skip_s3:
            bench_s3(work, args.s3_size_mb, args.shards, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
