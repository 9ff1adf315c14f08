"""System metrics sampled in a background thread while a run is active (``log_system_metrics``).

Logged under ``system/``: CPU utilization, process and system memory, disk and network usage,
and per GPU (``system/gpu_<i>_...``) utilization, memory used / total / percentage, power in watts and
temperature in degrees Celsius through NVML when ``nvidia-ml-py`` (``pip install nvidia-ml-py``) and a
GPU exist. A sensor a GPU does not expose (power on some boards) is left out, not logged as 0.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

from .. import _env
from ..utils.threads import background_thread
from ..utils.warn import warn

if TYPE_CHECKING:
    from .client import MlTrackClient


class SystemMetricsMonitor:
    """Samples every ``HF_MLTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL`` seconds until `stop`."""

    def __init__(self, client: MlTrackClient, run_id: str, interval: float | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self.interval = interval or _env.SYSTEM_METRICS_INTERVAL.get()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._step = 0
        self._nvml: Any = None

    def start(self) -> None:
        """Start sampling on a thread; psutil and NVML are loaded there, off the caller's path."""
        self._thread = background_thread(self._loop, "hf_mltrack-system-metrics")
        self._thread.start()

    def _load(self) -> bool:
        try:
            import psutil  # noqa: F401
        except ImportError:
            warn(
                "log_system_metrics=True needs psutil: pip install 'hf_mltrack[system-metrics]'. "
                "No system metrics are logged."
            )
            return False
        self._init_gpu()
        return True

    def _init_gpu(self) -> None:
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
        except Exception:
            self._nvml = None

    def sample(self) -> dict[str, float]:
        import psutil

        out: dict[str, float] = {
            "system/cpu_utilization_percentage": psutil.cpu_percent(interval=None),
        }
        mem = psutil.virtual_memory()
        out["system/system_memory_usage_megabytes"] = (mem.total - mem.available) / 2**20
        out["system/system_memory_usage_percentage"] = mem.percent
        out["system/process_memory_rss_megabytes"] = psutil.Process().memory_info().rss / 2**20
        try:
            disk = psutil.disk_usage("/")
            out["system/disk_usage_percentage"] = disk.percent
        except OSError:
            pass
        net = psutil.net_io_counters()
        if net is not None:
            out["system/network_receive_megabytes"] = net.bytes_recv / 2**20
            out["system/network_transmit_megabytes"] = net.bytes_sent / 2**20
        if self._nvml is not None:
            nv = self._nvml
            for i in range(nv.nvmlDeviceGetCount()):
                handle = nv.nvmlDeviceGetHandleByIndex(i)
                util = nv.nvmlDeviceGetUtilizationRates(handle)
                info = nv.nvmlDeviceGetMemoryInfo(handle)
                out[f"system/gpu_{i}_utilization_percentage"] = float(util.gpu)
                out[f"system/gpu_{i}_memory_usage_megabytes"] = info.used / 2**20
                out[f"system/gpu_{i}_memory_usage_percentage"] = 100.0 * info.used / max(info.total, 1)
                out[f"system/gpu_{i}_memory_total_megabytes"] = info.total / 2**20
                out.update(_gpu_sensors(nv, handle, i))
        return out

    def _loop(self) -> None:
        if not self._load():
            return
        import psutil

        psutil.cpu_percent(interval=None)  # prime: the first call always returns 0.0
        while not self._stop.wait(self.interval):
            self.log_once()

    def log_once(self) -> None:
        try:
            from ..entities import Metric

            ts = int(time.time() * 1000)
            metrics = [Metric(k, float(val), ts, self._step) for k, val in self.sample().items()]
            self.client.log_batch(self.run_id, metrics=metrics)
            self._step += 1
        except Exception as exc:  # a monitor must never break the run
            warnings.warn(f"hf_mltrack: system metrics sampling failed: {exc}", stacklevel=1)
            self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _gpu_sensors(nv: Any, handle: Any, index: int) -> dict[str, float]:
    """Power (W) and temperature (C) of one GPU; each omitted when the board does not report it."""
    out: dict[str, float] = {}
    try:
        out[f"system/gpu_{index}_power_watts"] = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0  # milliwatts
    except Exception:  # NVMLError_NotSupported and friends
        pass
    try:
        out[f"system/gpu_{index}_temperature_celsius"] = float(
            nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU)
        )
    except Exception:
        pass
    return out
