"""Every Prometheus metric trimtab exports, defined once.

controller-runtime's names, labels and buckets where they apply, so the Kubernetes community's
dashboards work unchanged: `controller` is the kind; the work queue is `name="trimtab"`. trimtab's
own metrics use the `trimtab_` prefix. No label carries a resource name, so cardinality stays bounded
(by kinds, AWS operations and outcomes).
"""

from __future__ import annotations

import platform
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
)

from controller import __version__

QUEUE_NAME = "trimtab"
# What the event feed (controller/sources/events.py) makes of each message it reads.
EVENT_OUTCOMES = ("matched", "own", "unmatched", "read-only", "malformed")
# controller-runtime's reconcile-time buckets (pkg/internal/controller/metrics).
RECONCILE_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
    1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
)
# client-go's workqueue buckets: ExponentialBuckets(10e-9, 10, 12).
WORKQUEUE_BUCKETS = tuple(10e-9 * 10**exponent for exponent in range(12))
AWS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One registry per process (or per test), holding every metric."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # process_resident_memory_bytes, process_cpu_seconds_total, ...: the dashboard's memory and CPU.
        ProcessCollector(registry=r)
        # ---- controller-runtime -----------------------------------------------------------------
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total", "Total number of reconciliations per controller",
            ["controller", "result"], registry=r)
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller",
            ["controller"], registry=r)
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller",
            ["controller"], buckets=RECONCILE_BUCKETS, registry=r)
        self.active_workers = Gauge(
            "controller_runtime_active_workers", "Number of currently used workers per controller",
            ["controller"], registry=r)
        self.max_workers = Gauge(
            "controller_runtime_max_concurrent_reconciles", "Maximum number of concurrent reconciles per controller",
            ["controller"], registry=r)
        # ---- client-go workqueue ------------------------------------------------------------------
        self.queue_depth = Gauge("workqueue_depth", "Current depth of workqueue", ["name"], registry=r)
        self.queue_adds = Counter("workqueue_adds_total", "Total number of adds handled by workqueue",
                                  ["name"], registry=r)
        self.queue_retries = Counter("workqueue_retries_total", "Total number of retries handled by workqueue",
                                     ["name"], registry=r)
        self.queue_latency = Histogram(
            "workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested",
            ["name"], buckets=WORKQUEUE_BUCKETS, registry=r)
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes",
            ["name"], buckets=WORKQUEUE_BUCKETS, registry=r)
        self.unfinished_work = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
            ["name"], registry=r)
        self.longest_running = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running", ["name"], registry=r)
        # ---- trimtab ------------------------------------------------------------------------------
        self.resources = Gauge(
            "trimtab_resources", "Managed resources by kind and condition status",
            ["kind", "condition", "status"], registry=r)
        self.suspended = Gauge(
            "trimtab_suspended_resources", "Live specs suspended, by `trimtab suspend` or the trimtab.io/suspend "
            "annotation (counted once if both)", ["kind"], registry=r)
        self.drift_corrections = Counter(
            "trimtab_drift_corrections_total", "Resources changed back after drift made outside trimtab",
            ["kind"], registry=r)
        self.aws_calls = Counter(
            "trimtab_aws_api_calls_total", "AWS API calls by service, operation and outcome (ok, throttled, or code)",
            ["service", "operation", "outcome"], registry=r)
        self.aws_errors = Counter(
            "trimtab_aws_api_errors_total", "AWS API calls that failed after retries, by error code",
            ["service", "operation", "code"], registry=r)
        self.aws_throttles = Counter(
            "trimtab_aws_api_throttles_total", "Throttling responses from AWS, retries included",
            ["service", "operation"], registry=r)
        self.aws_latency = Histogram(
            "trimtab_aws_api_call_duration_seconds", "AWS API call latency, retries included",
            ["service", "operation"], buckets=AWS_BUCKETS, registry=r)
        self.aws_rate_limit = Gauge(
            "trimtab_aws_rate_limit_per_second", "Current client-side rate limit per AWS service", ["service"],
            registry=r)
        self.source_revision = Gauge(
            "trimtab_source_revision_info", "The source revision live now (value 1)", ["revision"], registry=r)
        self.source_fetches = Counter(
            "trimtab_source_fetches_total", "Looks at the source (git: ls-remote, and a fetch when the ref moved)",
            ["outcome"], registry=r)
        self.source_last_fetch = Gauge(
            "trimtab_source_last_fetch_timestamp_seconds", "When the source was last read successfully",
            registry=r)
        self.source_fetch_failing = Gauge(
            "trimtab_source_fetch_failing", "1 while the latest look at the source failed (the last good revision "
            "stays live)", registry=r)
        self.source_applied = Gauge(
            "trimtab_source_last_applied_timestamp_seconds",
            "When a complete revision was last applied: every spec it changed reconciled from it", registry=r)
        self.shards_held = Gauge("trimtab_shards_held", "Shards whose lease this task holds", registry=r)
        self.lease_changes = Counter(
            "trimtab_shard_lease_changes_total", "Shard leases acquired, released or lost by this task", ["change"],
            registry=r)
        self.cluster_tasks = Gauge("trimtab_cluster_tasks", "Live tasks sharing the store, as this task sees them",
                                   registry=r)
        self.last_sync = Gauge(
            "trimtab_last_successful_sync_timestamp_seconds",
            "When a reconcile last succeeded and left its resource Ready", registry=r)
        self.prune_held = Gauge("trimtab_prune_held", "Resources a held prune would delete (0: none held)",
                                registry=r)
        self.prune_failures = Counter(
            "trimtab_prune_delete_failures_total", "Deletes of removed or replaced resources that failed (retried "
            "on a per-item backoff)", ["kind"], registry=r)
        self.prune_survivors = Gauge(
            "trimtab_prune_survivors", "Resources of removed specs whose delete failed and waits for its retry",
            registry=r)
        self.spec_errors = Gauge("trimtab_spec_errors", "Invalid specs in the live revision", registry=r)
        self.asyncio_tasks = Gauge("trimtab_asyncio_tasks", "asyncio tasks alive in the controller's event loop",
                                   registry=r)
        self._add_event_feed(r)
        self.build_info = Info("trimtab_build", "trimtab build information", registry=r)
        self.build_info.info({"version": __version__, "python": platform.python_version()})
        self._seed_series()

    def seed_kinds(self, kinds: Iterable[str], workers: int) -> None:
        """Each kind's series from the start (the kinds are the registry's: controller/kinds/registry.py)."""
        for kind in kinds:
            self.reconcile_total.labels(kind, "success").inc(0)
            self.reconcile_errors.labels(kind).inc(0)
            self.drift_corrections.labels(kind).inc(0)
            self.prune_failures.labels(kind).inc(0)
            self.suspended.labels(kind).set(0)
            self.max_workers.labels(kind).set(workers)

    def _seed_series(self) -> None:
        """Series that exist from the start, so rate() and absent() behave."""
        for series in (self.queue_adds, self.queue_retries):
            series.labels(QUEUE_NAME).inc(0)
        for outcome in ("ok", "error"):
            self.source_fetches.labels(outcome).inc(0)
        for change in ("acquired", "released", "lost"):
            self.lease_changes.labels(change).inc(0)
        self.prune_held.set(0)
        self.prune_survivors.set(0)
        self.spec_errors.set(0)

    def _add_event_feed(self, r: CollectorRegistry) -> None:
        """The event feed's (`run --events sqs://QUEUE`, controller/sources/events.py)."""
        self.events = Counter(
            "trimtab_events_total", "CloudTrail events read from the --events queue, by outcome: matched, own, "
            "unmatched, read-only, malformed", ["outcome"], registry=r)
        self.event_lag = Histogram(
            "trimtab_event_lag_seconds", "From a matched event's CloudTrail eventTime to its spec being queued",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900), registry=r)
        self.events_enabled = Gauge(
            "trimtab_events_enabled", "1 when this task reads an --events queue", registry=r)
        self.events_degraded = Gauge(
            "trimtab_events_degraded", "1 while the --events queue cannot be read (drift is then seen by the "
            "periodic resync alone)", registry=r)
        for outcome in EVENT_OUTCOMES:
            self.events.labels(outcome).inc(0)
