"""Executors run the per-model stage for every model: in this process, or as Ray tasks.

``--executor local`` (default) probes the models one after another here. ``--executor ray``
submits one Ray task per model (``num_gpus=1`` with ``--device cuda``), each writing into the
shared cache; the driver only collects the small per-model records and then reduces. With
``--ray-address`` the tasks go to an existing cluster, whose every node must see the same
cache folder and zoo paths (a shared filesystem) and have the harness installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from harness.runtime.stage import StageJob, StageResult, run_stage
from harness.common.errors import HarnessError
from harness.common.native_stderr import silenced_fd2
from harness.probes.base import ProbeSet
from harness.common.registry import did_you_mean

EXECUTORS = ("local", "ray")

#: Progress callbacks: a model starts, a number of its images are done, a model is done.
Started = Callable[[StageJob], Callable[[int], None]]
Finished = Callable[[StageResult], None]


class Executor(Protocol):
    name: str

    def run(self, jobs: Sequence[StageJob], probe: ProbeSet, started: Started, finished: Finished) -> list[StageResult]: ...


class LocalExecutor:
    name = "local"

    def run(self, jobs, probe, started, finished):
        results = []
        for job in jobs:
            result = run_stage(job, probe, started(job))
            finished(result)
            results.append(result)
        return results


def _ray_stage(job: StageJob, probe: ProbeSet) -> StageResult:
    return run_stage(job, probe)


#: Seconds to wait for a Ray head's port before calling the cluster unreachable.
CONNECT_SECONDS = 5.0


def check_reachable(address: str | None) -> None:
    """Fail fast when a ``host:port`` Ray address does not accept connections (Ray itself retries for minutes)."""
    import socket

    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise HarnessError(f"option --ray-address {address}: expected HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS):
            pass
    except OSError as exc:
        raise HarnessError(f"option --ray-address {address}: no Ray cluster answers there ({exc.strerror or exc}); "
                           "start one with `ray start --head`, or leave out --ray-address for a local one") from None


class RayExecutor:
    """One Ray task per model; results come back as they finish."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise HarnessError("option --executor ray: Ray is not installed; pip install 'transfer-harness[ray]' "
                               "(or use --executor local)") from None
        self.ray = ray
        self.address = address

    def run(self, jobs, probe, started, finished):
        ray = self.ray
        own = not ray.is_initialized()
        if own:
            check_reachable(self.address)
            try:
                with silenced_fd2():
                    ray.init(address=self.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise HarnessError(f"option --ray-address {self.address}: cannot connect to a Ray cluster "
                                   f"({str(exc).splitlines()[0]}); start one with `ray start --head`") from None
        try:
            gpus = 1 if any(j.device.startswith("cuda") for j in jobs) else 0
            remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=1)(_ray_stage)
            probe_ref = ray.put(probe)
            pending = {}
            for job in jobs:
                started(job)
                pending[remote.remote(job, probe_ref)] = job
            results = {}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, HarnessError):
                        raise cause from None
                    raise
                finished(result)
                results[job.key] = result
            return [results[job.key] for job in jobs]
        finally:
            if own:
                ray.shutdown()


def make_executor(name: str, ray_address: str | None = None) -> Executor:
    if name not in EXECUTORS:
        raise HarnessError("option --executor: " + did_you_mean(name, list(EXECUTORS), "executor"))
    if name == "ray":
        return RayExecutor(ray_address)
    if ray_address:
        raise HarnessError("option --ray-address needs --executor ray")
    return LocalExecutor()
