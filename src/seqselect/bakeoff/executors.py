"""Where trials run: this process, a pool of local processes, or a Ray cluster.

Every executor offers the same small interface, so the runner's scheduling (equal budget
shares, one commit per finished trial, resume) is the same whichever runs the trials:

* ``start(splits, n_trials)``: set-up, outside the budget (start workers, ship the data);
* ``slots``: how many trials run at once; ``threads``: torch threads per trial;
* ``submit(spec) -> concurrent.futures.Future`` of a
  :class:`~seqselect.bakeoff.records.Trial` (:func:`~seqselect.bakeoff.trial.run_trial`);
* ``close()``.

Thread counts: trials share the machine's cores, so each gets ``cores // slots`` torch
threads (at least 1); oversubscribing (2 trials x all cores) makes every timing worse and
noisier.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from typing import Any

from seqselect.bakeoff.records import Trial
from seqselect.bakeoff.trial import TrialSpec, run_trial, warm_up
from seqselect.errors import SeqSelectError
from seqselect.system import busy_cores, usable_cores

log = logging.getLogger(__name__)

__all__ = [
    "EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "default_threads", "make_executor",
]

EXECUTORS = ("local", "ray")


#: Busy cores (a fraction of all) from which trials get one thread each.
BUSY_FRACTION = 0.75


def default_threads(slots: int) -> tuple[int, str]:
    """Torch threads per trial when ``slots`` trials share this machine, and why.

    ``cores // slots``, except on a machine already busy (other work keeping at least
    :data:`BUSY_FRACTION` of its cores busy, measured over half a second; the 1-minute
    load average where that cannot be read): there spinning OpenMP threads fight the
    other processes and a 2-thread step can run 10-20x slower than a 1-thread one, so
    each trial gets 1.
    """
    cores = max(1, usable_cores())
    threads = max(1, cores // max(1, slots))
    if threads == 1:
        return 1, f"{cores} cores / {slots} trial(s) at a time"
    busy = busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            busy = 0.0
    if busy >= BUSY_FRACTION * cores:
        return 1, f"machine busy ({busy:.1f} of {cores} cores in use): 1 thread per trial"
    return threads, f"{cores} cores / {slots} trial(s) at a time"


class Executor:
    """What every executor offers (see the module docstring)."""

    name = "base"
    slots = 1
    threads = 1
    threads_reason = ""  # why each trial has ``threads`` threads (shown in the report)

    def start(self, splits, n_trials: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def submit(self, spec: TrialSpec) -> cf.Future:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {
            "executor": self.name,
            "slots": self.slots,
            "threads_per_trial": self.threads,
            "threads_reason": self.threads_reason,
        }


# ---- local ---------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(splits, threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))
    _WORKER["splits"] = splits
    warm_up()


def _worker_ping() -> int:
    import time

    time.sleep(0.2)  # keep this worker busy so the next ping starts another one
    return os.getpid()


def _worker_trial(spec: TrialSpec) -> Trial:
    return run_trial(spec, _WORKER["splits"])


class LocalExecutor(Executor):
    """Trials on this machine: in this process (``jobs=1``), or in ``jobs`` spawned worker
    processes, each with ``cores // jobs`` torch threads."""

    name = "local"

    def __init__(self, jobs: int = 1, threads: int | None = None):
        if jobs < 1:
            raise SeqSelectError(f"--jobs must be >= 1, got {jobs}")
        self.jobs = jobs
        self.slots = jobs
        self._fixed_threads = threads
        self.threads = threads or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._splits = None

    def start(self, splits, n_trials: int) -> None:
        self._splits = splits
        self.slots = max(1, min(self.jobs, n_trials))
        if self._fixed_threads:
            self.threads, self.threads_reason = self._fixed_threads, "--cpus-per-trial"
        else:
            self.threads, self.threads_reason = default_threads(self.slots)
        if self.jobs == 1:
            warm_up()
            return
        # spawn, not fork: a forked child of a process that already ran torch's thread pools
        # can deadlock, and spawn behaves the same on every OS.
        ctx = multiprocessing.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(splits, self.threads),
        )
        # Start every worker now (imports, data transfer): set-up, not trial time.
        pings = [self._pool.submit(_worker_ping) for _ in range(self.slots)]
        for ping in pings:
            ping.result()

    def submit(self, spec: TrialSpec) -> cf.Future:
        spec.threads = spec.threads or self.threads
        if self._pool is None:
            future: cf.Future = cf.Future()
            # As a pool would: an error of the worker itself comes back through the future
            # (KeyboardInterrupt is no Exception and reaches the runner as it is).
            try:
                future.set_result(run_trial(spec, self._splits))
            except Exception as exc:
                future.set_exception(exc)
            return future
        return self._pool.submit(_worker_trial, spec)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ---- ray -----------------------------------------------------------------------------
def _ray_trial(spec: TrialSpec, splits) -> Trial:
    return run_trial(spec, splits)


def _ray_warm_up() -> float:
    import time

    spent = warm_up()
    time.sleep(0.2)  # hold the worker so the other warm-ups land on other workers
    return spent


class RayExecutor(Executor):
    """Trials as Ray tasks, each reserving ``cpus_per_trial`` CPUs (its torch threads).

    Connects to ``address`` (``auto`` or ``ray://host:port``) or starts a local instance
    with ``num_cpus`` CPUs (default: this machine's). Without ``cpus_per_trial`` the
    cluster's CPUs are divided among the trials: ``max(1, cpus // min(trials, cpus))``.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        cpus_per_trial: int | None = None,
        device: str = "cpu",
    ):
        self.device = device
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_trial = cpus_per_trial
        self._started_here = False
        self._remote = None
        self._data_ref = None
        self.cluster_cpus = 0

    def start(self, splits, n_trials: int) -> None:
        try:
            import ray
        except ImportError:
            raise SeqSelectError(
                "--executor ray needs Ray: pip install 'seqselect[ray]' (or pip install ray)"
            ) from None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
            }
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.num_cpus or usable_cores(), **kwargs)
                self._started_here = True
        self.cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        if self.cpus_per_trial:
            per = max(1, int(self.cpus_per_trial))
            self.threads_reason = "--cpus-per-trial"
        else:
            at_once = min(n_trials, self.cluster_cpus)
            per = max(1, self.cluster_cpus // max(1, at_once))
            self.threads_reason = (
                f"{self.cluster_cpus} cluster CPUs / {at_once} trial(s) at a time"
            )
        self.threads = per
        self.slots = max(1, min(n_trials, self.cluster_cpus // per))
        gpus = 0.0
        if self.device.startswith("cuda"):
            # Ray hides GPUs from tasks that reserve none; share the cluster's among slots.
            total_gpus = float(ray.cluster_resources().get("GPU", 0))
            if total_gpus <= 0:
                raise SeqSelectError(
                    "--device cuda with --executor ray: the Ray cluster has no GPU"
                )
            gpus = min(1.0, total_gpus / self.slots)
        self._remote = ray.remote(num_cpus=per, num_gpus=gpus, max_retries=0)(_ray_trial)
        self._data_ref = ray.put(splits)
        warm = ray.remote(num_cpus=per)(_ray_warm_up)
        ray.get([warm.remote() for _ in range(self.slots)])

    def submit(self, spec: TrialSpec) -> cf.Future:
        spec.threads = spec.threads or self.threads
        return self._remote.remote(spec, self._data_ref).future()

    def close(self) -> None:
        import ray

        self._data_ref = None
        if self._started_here and ray.is_initialized():
            ray.shutdown()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "cluster_cpus": self.cluster_cpus,
            "address": self.address or "local",
        }


def make_executor(
    name: str,
    *,
    jobs: int = 1,
    ray_address: str | None = None,
    ray_cpus: int | None = None,
    cpus_per_trial: int | None = None,
    device: str = "cpu",
) -> Executor:
    if name == "local":
        return LocalExecutor(jobs=jobs, threads=cpus_per_trial)
    if name == "ray":
        return RayExecutor(
            address=ray_address, num_cpus=ray_cpus, cpus_per_trial=cpus_per_trial, device=device
        )
    raise SeqSelectError(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
