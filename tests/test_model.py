"""The stateful model test: random sequences of what people and AWS do to a running `trimtab run`,
checked after every step against a model of what must be true.

A Hypothesis `RuleBasedStateMachine` drives real `trimtab run` subprocesses (a second controller, with
another --controller-id and its own state dir, for some steps) against the session's real moto
server, each through its own counting proxy. The model keeps the desired state (the spec files it
wrote) and what it knows of AWS ownership; after each step it waits, by polling within a deadline
(never a fixed sleep), for the controller to be quiescent (every changed spec has a status row at
the live revision, the work queue is empty, nothing is in progress) and for these invariants:

- git equals live: every spec that is valid, Full-managed, not suspended and whose dependencies are
  Ready exists in AWS with the spec's attributes and tags, and is ours (ownership tags);
- status equals the live revision: each running controller has exactly one row per live spec and
  none for anything else; Ready=True only when the resource exists, is ours and matches; a conflict
  says Conflict; an invalid spec says Ready=False reason InvalidSpec;
- ours only: a resource no live spec manages (foreign, retained, observe-only, suspended, invalid,
  blocked) is byte-identical (attributes and tags) to when it was last seen, and nothing appears
  that no spec should have created; no resource has two owners (its owner tag names one controller,
  and only one running controller's inventory lists it);
- the inventory (SQLite `inventory` table) equals what the controller owns;
- the spec's policies win: a removed or renamed-away owned resource with deletionPolicy Delete is
  gone (once the revision is complete), one with Retain (or last seen ObserveOnly) still exists;
- bounded cost (the `check_read_budget` step): AWS reads over a window of a few resync intervals
  stay within a constant per resource, whatever happened before.

A spec change must take effect "at once" (FAST seconds); what only a periodic resync can see (drift,
a foreign resource appearing, a reference's outputs changing) within SLOW seconds.

In CI the sequences are derandomized (the same ones every run); `make soak-model` explores at random and
at length (TRIMTAB_MODEL_EXAMPLES, TRIMTAB_MODEL_STEPS), shrinks, and keeps failing sequences in
Hypothesis's example database (.hypothesis/, git-ignored), replayed first next time. Every failure prints
its steps as a `replay(...)` call; the ones found so far are the `test_regression_*` functions at the end,
which run every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from tests.conftest import REPO
from tests.counting_proxy import CountingProxy
from tests.model_support import (
    OWNER_TAG,
    REGION,
    RESOURCE_TAG,
    AwsReader,
    Controller,
    Observed,
    Spec,
    boto_client,
    condition,
    matches,
    remove_spec,
    write_spec,
)

# ---- the universe: small, so that names collide ---------------------------------------------------------

ANCHOR = Spec("Queue", "q-anchor", "q-anchor")  # never touched: an empty source is an error, not a deletion
QUEUE_SPECS = ("q-one", "q-two", "q-three")  # metadata.name
QUEUE_NAMES = ("q-one", "q-two", "q-three", "q-four")  # AWS names (spec.queueName)
BUCKET_SPEC = "mb-one"
BUCKET_NAMES = ("mb-one", "mb-two")
ALARM_SPEC = "al-one"
KEYS = (*(f"Queue/{name}" for name in QUEUE_SPECS), f"Bucket/{BUCKET_SPEC}", f"Alarm/{ALARM_SPEC}")
RENAMEABLE = KEYS[:-1]
UNIVERSE = (*(("Queue", name) for name in (*QUEUE_NAMES, ANCHOR.aws_name)),
            *(("Bucket", name) for name in BUCKET_NAMES), ("Alarm", ALARM_SPEC))
VISIBILITIES = (30, 45, 60, 90)
TAG_SETS: tuple[tuple[tuple[str, str], ...], ...] = ((), (("team", "a"),), (("team", "b"), ("tier", "1")))
THRESHOLDS = (5, 10, 20)
FOREIGN_OWNERS = (None, "someone-else", "trimtab-other")

PRIMARY, SECOND = "trimtab-test", "trimtab-other"
RESYNC = 2.0  # --resync-interval of both controllers
FAST = 4.0  # a spec change is applied "at once": well under a second normally; 4 s for a loaded CI box
SLOW = 2 * RESYNC + FAST  # what only the periodic resync sees
POLL = 0.1
BUDGET_INTERVALS = 3  # the read-budget window, in resync intervals
READS_PER_RESOURCE_PER_INTERVAL = 4
READS_CONSTANT = 10
IN_FLIGHT_SECONDS = 1.0  # how long change_mid_reconcile holds a reconcile's AWS reads back
BUDGET_SPACING = 4  # steps between read-budget checks (each one takes BUDGET_INTERVALS * RESYNC seconds)

_SOAK = "TRIMTAB_MODEL_EXAMPLES" in os.environ
MODEL_SETTINGS = settings(
    # CI: about 3 minutes for these on 2 cores, plus about 1 minute of regression tests.
    max_examples=int(os.environ.get("TRIMTAB_MODEL_EXAMPLES", "12")),
    stateful_step_count=int(os.environ.get("TRIMTAB_MODEL_STEPS", "15")),
    deadline=None,
    # CI replays the same bounded sequences every run (a red CI must be reproducible); `make soak-model`
    # explores at random, and what it finds becomes a regression test below.
    derandomize=not _SOAK,
    # In CI a failure is reported as found (shrinking re-runs whole controller lifetimes: minutes); the
    # soak shrinks. Either way the example database keeps it for the next run.
    phases=tuple(Phase) if _SOAK else (Phase.explicit, Phase.reuse, Phase.generate, Phase.target),
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Res:
    """An AWS resource the model knows to exist: who its tags say owns it, and whether it was made
    out of band (foreign)."""

    owner: str | None
    key: str | None
    foreign: bool = False


@dataclass
class Violation:
    message: str
    fast: bool  # must hold within FAST (else SLOW)
    immediate: bool = False  # a safety property: once broken it stays broken


@dataclass
class Observation:
    aws: dict[tuple[str, str], Observed | None]
    rows: dict[str, dict[str, dict[str, Any]]]  # controller id -> key -> row
    source: dict[str, dict[str, Any]]
    inventory: dict[str, set[tuple[str, tuple[str, str]]]]
    quiet: dict[str, str | None]  # controller id -> why it is not quiescent (None: it is)


@dataclass
class Proposal:
    res: dict[tuple[str, str], Res]
    tracked: dict[str, set[tuple[str, tuple[str, str]]]]
    violations: list[Violation] = field(default_factory=list)
    gone: dict[tuple[str, str], str] = field(default_factory=dict)  # resource -> the spec that deleted it


class Renamed(NamedTuple):
    """An owned resource whose spec names another resource now."""

    owner: str
    key: str
    ident: tuple[str, str]
    spec: Spec


class Environment:
    emulator: LocalEmulator
    base: Path


class TrimtabModel(RuleBasedStateMachine):
    env: ClassVar[Environment] = Environment()

    def __init__(self) -> None:
        super().__init__()
        env = self.env
        env.emulator.reset()
        self.root = Path(tempfile.mkdtemp(prefix="model-", dir=env.base))
        self.spec_dir = self.root / "specs"
        self.spec_dir.mkdir()
        self.aws = AwsReader(env.emulator.url)
        self.base_env = {**os.environ, "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIALS[0],
                         "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIALS[1], "AWS_REGION": REGION}
        self.base_env.pop("AWS_ENDPOINT_URL", None)
        self.proxies: list[CountingProxy] = []
        self.controllers: dict[str, Controller] = {}
        self.specs: dict[str, Spec] = {}  # the live specs, by key
        self.removed: dict[str, Spec] = {}  # the last removed version, to put back
        self.last_valid: dict[str, Spec] = {}  # the last valid version that was live: its policies apply
        self.res: dict[tuple[str, str], Res] = {}
        self.tracked: dict[str, set[tuple[str, tuple[str, str]]]] = {PRIMARY: set(), SECOND: set()}
        self.snapshots: dict[tuple[str, str], Observed] = {}
        self.validity: dict[str, bool] = {}
        self.failed = False
        self.script: list[str] = []  # the actions so far, as replay() steps
        self.steps_since_budget = 0
        self._begin_step()
        self._write(ANCHOR)
        self._controller(PRIMARY).start()

    # ---- plumbing -----------------------------------------------------------------------------------

    def _controller(self, controller_id: str) -> Controller:
        if controller_id not in self.controllers:
            proxy = CountingProxy(self.env.emulator.url).__enter__()
            self.proxies.append(proxy)
            self.controllers[controller_id] = Controller(
                controller_id, self.spec_dir, self.root / f"state-{controller_id}", self.base_env,
                f"{RESYNC:g}s", proxy)
        return self.controllers[controller_id]

    def _running(self) -> list[str]:
        return [cid for cid, controller in self.controllers.items() if controller.running]

    def _record(self, action: str, **arguments: Any) -> None:
        self.script.append(f"({action!r}, {arguments!r}),")
        _trace(f"step {action} {arguments}")

    def _begin_step(self, slow: bool = False) -> None:
        """Before a step changes anything: what "changed" will be measured against."""
        self.steps_since_budget = getattr(self, "steps_since_budget", 0) + 1
        self.touched: set[str] = set()
        self.slow = slow
        self.files_changed = False
        self.revision_before = {cid: self._revision(cid) for cid in self._running()}

    def _revision(self, controller_id: str) -> str | None:
        try:
            return self.controllers[controller_id].source().get("revision")
        except OSError:
            return None

    def _write(self, spec: Spec) -> None:
        write_spec(self.spec_dir, spec)
        self.specs[spec.key] = spec
        self.removed.pop(spec.key, None)
        self.touched.add(spec.key)
        self.files_changed = True

    def _remove(self, key: str) -> None:
        spec = self.specs.pop(key)
        remove_spec(self.spec_dir, spec)
        self.removed[key] = spec
        self.touched.add(key)
        self.files_changed = True

    def _valid(self, spec: Spec) -> bool:
        if spec.typo:
            return False
        return spec.kind != "Alarm" or f"Queue/{spec.queue_ref}" in self.specs

    def _names_in_use(self, besides: str) -> set[tuple[str, str]]:
        return {spec.ident for key, spec in self.specs.items() if key != besides}

    def _alarm_blocks_suspend(self, queue_key: str) -> bool:
        """Whether a live alarm refers to this queue. Suspending an alarm's queue is left out of the
        model: whether the alarm then reads as waiting is not specified anywhere."""
        return any(spec.kind == "Alarm" and f"Queue/{spec.queue_ref}" == queue_key for spec in self.specs.values())

    def _editable(self, key: str) -> Spec | None:
        spec = self.specs.get(key)
        return None if spec is None or spec.typo else spec

    # ---- rules --------------------------------------------------------------------------------------
    # Each rule draws among the choices that make sense in the current state and calls an `apply_*`
    # action with plain arguments. Actions are recorded, so a failure prints its sequence as a replay()
    # call; the regression tests at the end are such replays.

    def _draw(self, data: st.DataObject, options: Any, label: str) -> Any:
        return data.draw(st.sampled_from(sorted(options, key=repr)), label=label)

    def _free(self, kind: str, key: str) -> list[str]:
        names = {"Queue": QUEUE_NAMES, "Bucket": BUCKET_NAMES, "Alarm": (ALARM_SPEC,)}[kind]
        used = self._names_in_use(key)
        return [name for name in names if (kind, name) not in used]

    def _addable_queues(self) -> list[str]:
        return [name for name in QUEUE_SPECS if f"Queue/{name}" not in self.specs and self._free("Queue", "")]

    def _ready_targets(self) -> list[str]:
        """Queue specs an alarm may refer to: live and not suspended."""
        return [spec.name for spec in self.specs.values() if spec.kind == "Queue" and not spec.suspended]

    def _editables(self, kinds: tuple[str, ...] = ("Queue", "Bucket", "Alarm")) -> list[str]:
        return [key for key in KEYS if (spec := self._editable(key)) is not None and spec.kind in kinds]

    def _policy_choices(self, key: str) -> list[str]:
        spec = self.specs[key]
        choices = ["deletionPolicy", "managementPolicy"]
        if spec.suspended or not self._alarm_blocks_suspend(key):
            choices.append("suspend")
        if spec.adopt or SECOND not in self._running():
            choices.append("adopt")  # two controllers that both adopt take a resource from each other forever
        return choices

    def _renames(self) -> list[tuple[str, str]]:
        found = []
        for key in RENAMEABLE:
            spec = self._editable(key)
            if spec is not None and not spec.suspended:  # a suspended spec's rename or removal: unspecified
                found += [(key, name) for name in self._free(spec.kind, key) if name != spec.aws_name]
        return found

    def _removables(self) -> list[str]:
        return [key for key in KEYS if key in self.specs and not self.specs[key].suspended]

    def _puttable_back(self) -> list[str]:
        found = []
        for key, spec in self.removed.items():
            if key in self.specs or spec.ident in self._names_in_use(key):
                continue
            if spec.adopt and SECOND in self._running():
                continue
            if spec.kind == "Alarm" and spec.queue_ref not in self._ready_targets() and (
                    f"Queue/{spec.queue_ref}" in self.specs):
                continue
            found.append(key)
        return found

    def _fixable(self) -> list[str]:
        return [key for key, spec in self.specs.items() if spec.typo and not (
            spec.kind == "Alarm" and f"Queue/{spec.queue_ref}" in self.specs
            and spec.queue_ref not in self._ready_targets())]

    def _foreign_slots(self) -> list[tuple[str, str]]:
        return [ident for ident in UNIVERSE if ident not in self.res and ident != ANCHOR.ident]

    @precondition(lambda self: bool(self._addable_queues()))
    @rule(data=st.data())
    def add_queue(self, data: st.DataObject) -> None:
        name = self._draw(data, self._addable_queues(), "name")
        self.apply_add(spec=Spec(
            "Queue", name, self._draw(data, self._free("Queue", f"Queue/{name}"), "queueName"),
            visibility=self._draw(data, VISIBILITIES, "visibility"), tags=self._draw(data, TAG_SETS, "tags"),
            deletion=self._draw(data, (None, "Delete", "Retain"), "deletionPolicy"),
            management=self._draw(data, ("Full", "ObserveOnly"), "managementPolicy"),
            adopt=SECOND not in self._running() and data.draw(st.booleans(), label="adopt")))

    @precondition(lambda self: f"Bucket/{BUCKET_SPEC}" not in self.specs and bool(self._free("Bucket", "")))
    @rule(data=st.data())
    def add_bucket(self, data: st.DataObject) -> None:
        self.apply_add(spec=Spec(
            "Bucket", BUCKET_SPEC, self._draw(data, self._free("Bucket", ""), "bucketName"),
            versioning=data.draw(st.booleans(), label="versioning"), tags=self._draw(data, TAG_SETS, "tags"),
            deletion=self._draw(data, (None, "Delete", "Retain"), "deletionPolicy")))

    @precondition(lambda self: f"Alarm/{ALARM_SPEC}" not in self.specs and bool(self._ready_targets()))
    @rule(data=st.data())
    def add_alarm(self, data: st.DataObject) -> None:
        self.apply_add(spec=Spec(
            "Alarm", ALARM_SPEC, ALARM_SPEC, threshold=self._draw(data, THRESHOLDS, "threshold"),
            queue_ref=self._draw(data, self._ready_targets(), "queueRef")))

    def apply_add(self, *, spec: Spec) -> None:
        self._record("apply_add", spec=spec)
        self._write(spec)

    @precondition(lambda self: bool(self._editables(("Queue",))))
    @rule(data=st.data())
    def edit_queue(self, data: st.DataObject) -> None:
        spec = self.specs[self._draw(data, self._editables(("Queue",)), "key")]
        visibility = self._draw(data, [v for v in VISIBILITIES if v != spec.visibility], "visibility")
        self.apply_edit(key=spec.key, visibility=visibility, tags=self._draw(data, TAG_SETS, "tags"))

    @precondition(lambda self: bool(self._editables(("Bucket",))))
    @rule(data=st.data())
    def edit_bucket(self, data: st.DataObject) -> None:
        spec = self.specs[f"Bucket/{BUCKET_SPEC}"]
        self.apply_edit(key=spec.key, versioning=not spec.versioning, tags=self._draw(data, TAG_SETS, "tags"))

    @precondition(lambda self: bool(self._editables(("Alarm",))) and bool(self._ready_targets()))
    @rule(data=st.data())
    def edit_alarm(self, data: st.DataObject) -> None:
        spec = self.specs[f"Alarm/{ALARM_SPEC}"]
        threshold = self._draw(data, [t for t in THRESHOLDS if t != spec.threshold], "threshold")
        queue = self._draw(data, self._ready_targets(), "queueRef")
        self.apply_edit(key=spec.key, threshold=threshold, queue_ref=queue)

    def apply_edit(self, *, key: str, **changes: Any) -> None:
        self._record("apply_edit", key=key, **changes)
        self._write(self.specs[key].with_(**changes))

    @precondition(lambda self: bool(self._editables()))
    @rule(data=st.data())
    def toggle_policy(self, data: st.DataObject) -> None:
        key = self._draw(data, self._editables(), "key")
        self.apply_toggle(key=key, policy=self._draw(data, self._policy_choices(key), "policy"))

    def apply_toggle(self, *, key: str, policy: str) -> None:
        """Flip deletionPolicy (Delete/Retain), managementPolicy (Full/ObserveOnly), the suspend annotation,
        or adopt: each takes effect even when AWS needs no change."""
        self._record("apply_toggle", key=key, policy=policy)
        spec = self.specs[key]
        if policy == "deletionPolicy":
            spec = spec.with_(deletion="Retain" if spec.deletion_policy == "Delete" else "Delete")
        elif policy == "managementPolicy":
            spec = spec.with_(management="ObserveOnly" if spec.management == "Full" else "Full")
        elif policy == "suspend":
            spec = spec.with_(suspended=not spec.suspended)
        else:
            spec = spec.with_(adopt=not spec.adopt)
        self._write(spec)

    @precondition(lambda self: bool(self._renames()))
    @rule(data=st.data())
    def rename(self, data: st.DataObject) -> None:
        key, name = self._draw(data, self._renames(), "rename")
        self.apply_rename(key=key, aws_name=name)

    def apply_rename(self, *, key: str, aws_name: str) -> None:
        """Change spec.queueName / spec.bucketName, keeping metadata.name: the AWS identity moves."""
        self._record("apply_rename", key=key, aws_name=aws_name)
        self._write(self.specs[key].with_(aws_name=aws_name))

    @precondition(lambda self: bool(self._removables()))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        self.apply_remove(key=self._draw(data, self._removables(), "key"))

    def apply_remove(self, *, key: str) -> None:
        self._record("apply_remove", key=key)
        self._remove(key)

    @precondition(lambda self: bool(self._puttable_back()))
    @rule(data=st.data())
    def put_back(self, data: st.DataObject) -> None:
        self.apply_put_back(key=self._draw(data, self._puttable_back(), "key"))

    def apply_put_back(self, *, key: str) -> None:
        """The last removed version, byte for byte (a revert)."""
        self._record("apply_put_back", key=key)
        self._write(self.removed[key])

    @precondition(lambda self: any(not self.specs[key].suspended for key in self._editables()))
    @rule(data=st.data())
    def break_spec(self, data: st.DataObject) -> None:
        keys = [key for key in self._editables() if not self.specs[key].suspended]
        self.apply_break(key=self._draw(data, keys, "key"))

    def apply_break(self, *, key: str) -> None:
        """A typo'd field: the spec is invalid (and the revision incomplete: nothing is deleted)."""
        self._record("apply_break", key=key)
        self._write(self.specs[key].with_(typo=True))

    @precondition(lambda self: any(not self.specs[key].suspended for key in self._editables()))
    @rule(data=st.data())
    def change_mid_reconcile(self, data: st.DataObject) -> None:
        keys = [key for key in self._editables() if not self.specs[key].suspended]
        change = self._draw(data, ("break", "remove"), "change")
        self.apply_mid_reconcile(key=self._draw(data, keys, "key"), change=change)

    def apply_mid_reconcile(self, *, key: str, change: str) -> None:
        """The spec turns invalid, or is removed, while a reconcile of it is in flight (its AWS reads held
        back by the proxy): the reconcile's outcome must not bring back a stale row."""
        self._record("apply_mid_reconcile", key=key, change=change)
        controller = self.controllers[PRIMARY]
        controller.proxy.read_delay = IN_FLIGHT_SECONDS
        try:
            controller.resync([key])
            time.sleep(IN_FLIGHT_SECONDS / 4)  # fault timing: the reconcile is now waiting on AWS
            if change == "break":
                self._write(self.specs[key].with_(typo=True))
            else:
                self._remove(key)
            time.sleep(IN_FLIGHT_SECONDS)  # fault timing: let the held-back reconcile finish
        finally:
            controller.proxy.read_delay = 0.0
        self.touched.add(key)

    @precondition(lambda self: bool(self._fixable()))
    @rule(data=st.data())
    def fix_spec(self, data: st.DataObject) -> None:
        self.apply_fix(key=self._draw(data, self._fixable(), "key"))

    def apply_fix(self, *, key: str) -> None:
        self._record("apply_fix", key=key)
        self._write(self.specs[key].with_(typo=False))

    # ---- rules: AWS behind trimtab's back ---------------------------------------------------------------

    @precondition(lambda self: bool(self.res))
    @rule(data=st.data())
    def drift(self, data: st.DataObject) -> None:
        self.apply_drift(resource=self._draw(data, self.res, "resource"),
                         how=self._draw(data, ("attribute", "tag"), "how"))

    def apply_drift(self, *, resource: tuple[str, str], how: str) -> None:
        """Change a resource out of band, as a person with the AWS CLI would."""
        self._record("apply_drift", resource=resource, how=how)
        self.slow = True
        kind, name = resource
        if kind == "Queue":
            sqs = boto_client(self.env.emulator.url, "sqs")
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            if how == "attribute":
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
            else:
                sqs.tag_queue(QueueUrl=url, Tags={"drift": "yes"})
        elif kind == "Bucket":
            s3 = boto_client(self.env.emulator.url, "s3")
            if how == "attribute":
                status = s3.get_bucket_versioning(Bucket=name).get("Status")
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
                    "Status": "Suspended" if status == "Enabled" else "Enabled"})
            else:
                observed = self.aws.bucket(name)
                assert observed is not None
                s3.put_bucket_tagging(Bucket=name, Tagging=_tag_set({**observed.tags, "drift": "yes"}))
        else:
            cloudwatch = boto_client(self.env.emulator.url, "cloudwatch")
            alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
            if how == "attribute":
                cloudwatch.put_metric_alarm(
                    AlarmName=name, Namespace=alarm["Namespace"], MetricName=alarm["MetricName"],
                    Statistic=alarm["Statistic"], Period=alarm["Period"], EvaluationPeriods=alarm["EvaluationPeriods"],
                    Threshold=99.0, ComparisonOperator=alarm["ComparisonOperator"], Dimensions=alarm["Dimensions"])
            else:
                cloudwatch.tag_resource(ResourceARN=alarm["AlarmArn"], Tags=[{"Key": "drift", "Value": "yes"}])
        observed = self.aws.read(kind, name)
        assert observed is not None
        self.snapshots[resource] = observed  # what "untouched" means for it from now on

    @precondition(lambda self: bool(self._foreign_slots()))
    @rule(data=st.data())
    def create_foreign(self, data: st.DataObject) -> None:
        self.apply_create_foreign(resource=self._draw(data, self._foreign_slots(), "resource"),
                                  owner=self._draw(data, FOREIGN_OWNERS, "owner"))

    def apply_create_foreign(self, *, resource: tuple[str, str], owner: str | None) -> None:
        """A resource a spec names (or may name) made by someone else: untagged, or tagged as owned by
        another controller id. It must never be changed or deleted unless a spec adopts it."""
        self._record("apply_create_foreign", resource=resource, owner=owner)
        self.slow = True
        kind, name = resource
        claimant = next((spec.key for spec in self.specs.values() if spec.ident == resource), f"{kind}/{name}")
        tags = {} if owner is None else {OWNER_TAG: owner, RESOURCE_TAG: claimant}
        if kind == "Queue":
            boto_client(self.env.emulator.url, "sqs").create_queue(
                QueueName=name, Attributes={"VisibilityTimeout": "5"}, tags=tags)
        elif kind == "Bucket":
            s3 = boto_client(self.env.emulator.url, "s3")
            s3.create_bucket(Bucket=name)
            if tags:
                s3.put_bucket_tagging(Bucket=name, Tagging=_tag_set(tags))
        else:
            boto_client(self.env.emulator.url, "cloudwatch").put_metric_alarm(
                AlarmName=name, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=3.0,
                ComparisonOperator="GreaterThanThreshold", Dimensions=[{"Name": "QueueName", "Value": "elsewhere"}],
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        observed = self.aws.read(kind, name)
        assert observed is not None
        self.res[resource] = Res(owner, claimant if owner else None, foreign=True)
        self.snapshots[resource] = observed

    # ---- rules: operating the controllers -------------------------------------------------------------

    @rule(data=st.data())
    def manual_resync(self, data: st.DataObject) -> None:
        items = [None, *(key for key, spec in self.specs.items() if self._valid(spec))]
        second = SECOND in self._running() and data.draw(st.booleans(), label="second controller")
        self.apply_resync(item=self._draw(data, items, "item"), second=second)

    def apply_resync(self, *, item: str | None, second: bool = False) -> None:
        """POST /api/v1/resync with the bearer token: everything, or one live item."""
        self._record("apply_resync", item=item, second=second)
        answer = self.controllers[SECOND if second else PRIMARY].resync(None if item is None else [item])
        assert answer["queued"] >= 1, answer
        self.touched |= set(self.specs) if item is None else {item}

    @rule()
    def sighup(self) -> None:
        self.apply_sighup()

    def apply_sighup(self) -> None:
        self._record("apply_sighup")
        self.controllers[PRIMARY].sighup()
        self.touched |= set(self.specs)

    @rule()
    def kill9_and_restart(self) -> None:
        self.apply_kill9_and_restart()

    def apply_kill9_and_restart(self) -> None:
        """SIGKILL, then a new process on the same state dir."""
        self._record("apply_kill9_and_restart")
        controller = self.controllers[PRIMARY]
        controller.kill9()
        controller.start()
        self.slow = True  # settled items resume their drift checks within the interval

    @precondition(lambda self: bool(self._editables(("Queue",))))
    @rule(data=st.data())
    def crash_mid_edit(self, data: st.DataObject) -> None:
        spec = self.specs[self._draw(data, self._editables(("Queue",)), "key")]
        self.apply_crash_mid_edit(
            key=spec.key, visibility=self._draw(data, [v for v in VISIBILITIES if v != spec.visibility], "visibility"),
            delay=self._draw(data, (0.0, 0.05, 0.15, 0.4), "delay"))

    def apply_crash_mid_edit(self, *, key: str, visibility: int, delay: float) -> None:
        """An edit, SIGKILL while (or before, or after) it is applied, and a restart."""
        self._record("apply_crash_mid_edit", key=key, visibility=visibility, delay=delay)
        self._write(self.specs[key].with_(visibility=visibility))
        time.sleep(delay)  # fault timing, not a wait for an outcome
        controller = self.controllers[PRIMARY]
        controller.kill9()
        controller.start()

    @precondition(lambda self: SECOND not in self._running() and not any(s.adopt for s in self.specs.values()))
    @rule()
    def start_second(self) -> None:
        self.apply_start_second()

    def apply_start_second(self) -> None:
        """Another controller, with its own id and state dir, on the same specs."""
        self._record("apply_start_second")
        self._controller(SECOND).start()
        self.touched |= set(self.specs)

    @precondition(lambda self: SECOND in self._running())
    @rule()
    def stop_second(self) -> None:
        self.apply_stop_second()

    def apply_stop_second(self) -> None:
        self._record("apply_stop_second")
        self.controllers[SECOND].stop()

    @precondition(lambda self: self.steps_since_budget >= BUDGET_SPACING)
    @rule()
    def check_read_budget(self) -> None:
        self.apply_check_read_budget()

    def apply_check_read_budget(self) -> None:
        """AWS reads over a few resync intervals, counted by each controller's own proxy, are bounded by a
        constant per resource, whatever happened before."""
        self._record("apply_check_read_budget")
        self.steps_since_budget = 0
        started = time.monotonic()
        window = BUDGET_INTERVALS * RESYNC
        deadline = started + window
        while time.monotonic() < deadline:  # the window is the measurement, not a wait for an outcome
            for controller in self.controllers.values():
                self._fail_if_exited(controller)
            time.sleep(0.2)
        resources = sum(1 for spec in self.specs.values() if self._valid(spec))
        allowed = READS_PER_RESOURCE_PER_INTERVAL * resources * (BUDGET_INTERVALS + 1) + READS_CONSTANT
        for cid in self._running():
            reads = self.controllers[cid].proxy.reads_between(started, deadline)
            by_operation: dict[str, int] = {}
            for call in reads:
                by_operation[call.operation] = by_operation.get(call.operation, 0) + 1
            if len(reads) > allowed:
                self._fail([Violation(
                    f"{cid} made {len(reads)} AWS reads in {window:g}s ({BUDGET_INTERVALS} resync intervals) for "
                    f"{resources} resources; at most {allowed} ({READS_PER_RESOURCE_PER_INTERVAL} per resource per "
                    f"interval + {READS_CONSTANT}) are allowed: {dict(sorted(by_operation.items()))}", True)])

    # ---- the invariant --------------------------------------------------------------------------------

    @invariant()
    def converged(self) -> None:
        """Wait (polling, within FAST or SLOW) until the model's expectations all hold; fail otherwise."""
        started = time.monotonic()
        while True:
            for controller in self.controllers.values():
                self._fail_if_exited(controller)
            observation = self._observe()
            proposal = self._expect(observation)
            immediate = [v for v in proposal.violations if v.immediate]
            if immediate:
                self._fail(immediate)
            if not proposal.violations:
                _trace(f"settled in {time.monotonic() - started:.2f}s slow={self.slow} touched={sorted(self.touched)} "
                       f"specs={sorted(self.specs)} res={sorted(self.res)}")
                self._commit(proposal, observation)
                self._begin_step()
                return
            waited = time.monotonic() - started
            if waited > SLOW or (waited > FAST and any(v.fast for v in proposal.violations)):
                self._fail(proposal.violations, waited)
            time.sleep(POLL)

    def teardown(self) -> None:
        try:
            if not self.failed and PRIMARY in self._running():
                self._check_cli_get()
        finally:
            for controller in self.controllers.values():
                if controller.running:
                    controller.kill9()
            for proxy in self.proxies:
                proxy.__exit__()

    def _check_cli_get(self) -> None:
        """`trimtab get -o json` reads the store: the same rows as the API, one per live spec."""
        listed = subprocess.run(
            [sys.executable, "-m", "controller", "get", "-o", "json", "--state-dir",
             str(self.controllers[PRIMARY].state_dir)],
            capture_output=True, text=True, check=False, cwd=REPO, env=self.base_env,
        )
        assert listed.returncode in (0, 3), listed.stdout + listed.stderr
        keys = sorted(f"{row['kind']}/{row['name']}" for row in json.loads(listed.stdout))
        assert keys == sorted(self.specs), (
            f"`trimtab get` lists {keys}; the live specs are {sorted(self.specs)}\n{self._script_text()}")

    def _fail_if_exited(self, controller: Controller) -> None:
        why = controller.exited()
        if why:
            self.failed = True
            raise AssertionError(f"{why}\n{self._script_text()}")

    def _fail(self, violations: list[Violation], waited: float | None = None) -> None:
        self.failed = True
        when = "at once" if waited is None else f"after waiting {waited:.1f}s"
        lines = "\n".join(f"  - {violation.message}" for violation in violations)
        tails = "\n".join(f"--- {cid} log tail:\n{controller.log_tail(2500)}"
                          for cid, controller in self.controllers.items() if controller.logs)
        raise AssertionError(f"invariants broken {when}:\n{lines}\nlive specs: {sorted(self.specs)}\n"
                             f"{self._script_text()}\n{tails}")

    def _script_text(self) -> str:
        script = "\n".join(f"    {step}" for step in self.script)
        return f"replay(moto, tmp_path,\n{script}\n)"

    # ---- observing ------------------------------------------------------------------------------------

    def _observe(self) -> Observation:
        running = self._running()
        before = {cid: self._metrics(cid) for cid in running}
        rows = {cid: {f"{row['kind']}/{row['name']}": row for row in self.controllers[cid].resources()}
                for cid in running}
        source = {cid: self.controllers[cid].source() for cid in running}
        aws = {ident: self.aws.read(*ident) for ident in UNIVERSE}
        inventory = {cid: set(controller.inventory_rows()) for cid, controller in self.controllers.items()}
        after = {cid: self._metrics(cid) for cid in running}
        quiet = {cid: self._quiet(before[cid], after[cid]) for cid in running}
        return Observation(aws, rows, source, inventory, quiet)

    def _metrics(self, cid: str) -> dict[str, float]:
        return self.controllers[cid].metrics()

    @staticmethod
    def _quiet(before: dict[str, float], after: dict[str, float]) -> str | None:
        """The work queue empty and nothing in progress, at both ends of the observation."""
        for label, series in (("depth", 'workqueue_depth{name="trimtab"}'),
                              ("in progress", 'workqueue_longest_running_processor_seconds{name="trimtab"}')):
            if series not in before or series not in after:
                return f"/metrics has no {series} (docs/metrics.md)"
            if before[series] or after[series]:
                return f"work queue {label} {before[series]:g} then {after[series]:g}"
        return None

    # ---- expecting -------------------------------------------------------------------------------------

    def _fast(self, key: str | None) -> bool:
        return not self.slow and (key is None or key in self.touched)

    def _expect(self, obs: Observation) -> Proposal:
        proposal = Proposal({ident: replace(res) for ident, res in self.res.items()},
                            {cid: set(entries) for cid, entries in self.tracked.items()})
        running = self._running()
        complete = all(self._valid(spec) for spec in self.specs.values())
        validity = {key: self._valid(spec) for key, spec in self.specs.items()}
        self.touched |= {key for key, valid in validity.items() if self.validity.get(key) != valid}
        renamed = self._expect_prunes(proposal, running, complete)
        managed, row_expectations = self._expect_specs(proposal, obs, running)
        self._expect_replacements(proposal, obs, renamed, managed)
        self._check_aws(proposal, obs, managed)
        self._check_rows(proposal, obs, row_expectations)
        self._check_inventories(proposal, obs, running)
        for cid in running:
            why = obs.quiet[cid]
            if why:
                proposal.violations.append(Violation(f"{cid} is not quiescent: {why}", self._fast(None)))
            revision = obs.source[cid].get("revision")
            if self.files_changed and revision == self.revision_before.get(cid):
                proposal.violations.append(Violation(
                    f"{cid} still serves revision {revision}, from before the spec files changed", self._fast(None)))
        return proposal

    def _expect_prunes(self, proposal: Proposal, running: list[str], complete: bool) -> list[Renamed]:
        """Owned resources whose spec is gone: Delete deletes, Retain forgets. Only from a complete revision;
        only by the controller that owns it. Resources whose spec names another one now are returned, for
        `_expect_replacements`: create-before-destroy, they go only once the new one is the same owner's."""
        renamed: list[Renamed] = []
        for cid in running:
            for key, ident in sorted(proposal.tracked[cid]):
                spec = self.specs.get(key)
                stale = spec is None or (self._valid(spec) and spec.ident != ident)
                if not stale or not complete:
                    continue
                if spec is not None:
                    renamed.append(Renamed(cid, key, ident, spec))
                    continue
                self._retire(proposal, cid, key, ident, self.last_valid[key])  # the last version seen
        return renamed

    def _expect_replacements(self, proposal: Proposal, obs: Observation, renamed: list[Renamed],
                             managed: dict[tuple[str, str], tuple[Spec, set[str]]]) -> None:
        """A renamed spec's old resource is retired once its new one is owned by the same controller: while
        the new name is someone else's (a conflict), the old resource, and its data, stay."""
        for cid, key, ident, spec in renamed:
            owners = managed[spec.ident][1] if spec.ident in managed else set()
            observed = obs.aws[spec.ident]
            if len(owners) > 1:  # a race decides: the tags say who won
                won = observed is not None and observed.owner == (cid, key)
                owners = {cid} if won else set()
            if owners == {cid}:
                self._retire(proposal, cid, key, ident, spec)

    def _retire(self, proposal: Proposal, cid: str, key: str, ident: tuple[str, str], last: Spec) -> None:
        proposal.tracked[cid].discard((key, ident))
        res = proposal.res.get(ident)
        if res is None or (res.owner, res.key) != (cid, key):
            return
        # ObserveOnly changes nothing, deletion included ("Full: create, update and delete").
        if last.deletion_policy == "Delete" and last.management == "Full":
            del proposal.res[ident]
            proposal.gone[ident] = key

    def _expect_specs(
        self, proposal: Proposal, obs: Observation, running: list[str]
    ) -> tuple[dict[tuple[str, str], tuple[Spec, set[str]]], dict[str, dict[str, str]]]:
        """Per live spec: which resource must be managed (and by which controllers, when a race decides),
        and what each running controller's row must say."""
        managed: dict[tuple[str, str], tuple[Spec, set[str]]] = {}
        rows: dict[str, dict[str, str]] = {cid: {} for cid in running}
        for spec in sorted(self.specs.values(), key=lambda s: (s.kind == "Alarm", s.key)):
            key, ident = spec.key, spec.ident

            def every(expectation: str, who: list[str] | set[str] = running, key: str = key) -> None:
                for cid in who:
                    rows[cid][key] = expectation

            if not self._valid(spec):
                every("invalid")
                continue
            if spec.suspended:
                every("suspended")
                continue
            candidates = set(running)  # the controllers that reconcile it: its dependencies are Ready there
            if spec.kind == "Alarm":
                queue = self.specs[f"Queue/{spec.queue_ref}"]
                candidates = {cid for cid in running if self._valid(queue)
                              and condition(obs.rows[cid].get(queue.key, {}), "Ready")[0] == "True"}
            every("blocked")
            if spec.management == "ObserveOnly":
                every("observe", candidates)
                continue
            res = proposal.res.get(ident)
            if res is None:
                if candidates:
                    managed[ident] = (spec, candidates)
                    every("managed-if-owner", candidates)
                continue
            if res.owner in running and res.key == key:
                if res.owner in candidates:
                    managed[ident] = (spec, {res.owner})
                    every("conflict", candidates - {res.owner})
                    every("managed", {res.owner})
                    proposal.tracked[res.owner].add((key, ident))
                else:
                    every("conflict", candidates)
                continue
            if spec.adopt and PRIMARY in candidates:
                proposal.res[ident] = Res(PRIMARY, key)
                managed[ident] = (spec, {PRIMARY})
                every("managed", {PRIMARY})
                proposal.tracked[PRIMARY] = {(k, i) for k, i in proposal.tracked[PRIMARY] if i != ident}
                proposal.tracked[PRIMARY].add((key, ident))
                continue
            every("conflict", candidates)
        return managed, rows

    def _check_aws(self, proposal: Proposal, obs: Observation,
                   managed: dict[tuple[str, str], tuple[Spec, set[str]]]) -> None:
        gone = proposal.gone
        claimant = {spec.ident: spec.key for spec in self.specs.values()}
        add = proposal.violations.append
        for ident in UNIVERSE:
            observed = obs.aws[ident]
            label = f"{ident[0]} {ident[1]}"
            if ident in gone:
                if observed is not None:
                    add(Violation(f"{label} still exists, but its spec {gone[ident]} was removed or renamed away "
                                  "with deletionPolicy Delete: it must be deleted", self._fast(gone[ident])))
                continue
            if ident in managed:
                spec, owners = managed[ident]
                if observed is None:
                    add(Violation(f"{label} does not exist; {spec.key} (Full) must create it", self._fast(spec.key)))
                    continue
                owner, resource = observed.owner
                if owner not in owners or resource != spec.key:
                    add(Violation(f"{label} is tagged owner={owner} resource={resource}; want {sorted(owners)} "
                                  f"as {spec.key}", self._fast(spec.key)))
                    continue
                proposal.res[ident] = Res(owner, spec.key, foreign=False)
                proposal.tracked[owner].add((spec.key, ident))
                wrong = matches(spec, observed, owner, self._queue_aws_name(spec))
                if wrong:
                    add(Violation(f"{label} does not match {spec.key}: {'; '.join(wrong)}", self._fast(spec.key)))
                continue
            known = proposal.res.get(ident)
            if known is None:
                if observed is not None:
                    add(Violation(f"{label} exists, but nothing should have created it (tags {observed.tags})",
                                  self._fast(claimant.get(ident))))
                continue
            what = "a foreign resource" if known.foreign else "a resource no live spec manages"
            if observed is None:
                add(Violation(f"{label} ({what}, tagged {known.owner} as {known.key}) was deleted", True, True))
                continue
            snapshot = self.snapshots.get(ident)
            if snapshot is not None and snapshot != observed:
                add(Violation(f"{label} ({what}: owner {known.owner}) was changed: {_difference(snapshot, observed)}",
                              True, True))

    def _queue_aws_name(self, spec: Spec) -> str | None:
        if spec.kind != "Alarm":
            return None
        queue = self.specs.get(f"Queue/{spec.queue_ref}")
        return queue.aws_name if queue else None

    def _check_rows(self, proposal: Proposal, obs: Observation, expectations: dict[str, dict[str, str]]) -> None:
        add = proposal.violations.append
        for cid, expected in expectations.items():
            rows = obs.rows[cid]
            revision = obs.source[cid].get("revision")
            for key in sorted(set(rows) - set(self.specs)):
                add(Violation(f"{cid} has a row for {key}, which is not in the live revision "
                              f"({_conditions(rows[key])})", self._fast(key)))
            for key, expectation in sorted(expected.items()):
                row = rows.get(key)
                if row is None:
                    add(Violation(f"{cid} has no row for live spec {key}", self._fast(key)))
                    continue
                if row.get("revision") != revision:
                    add(Violation(f"{cid}'s row for {key} is at revision {row.get('revision')}, the live one is "
                                  f"{revision} ({_conditions(row)})", self._fast(key)))
                problem = self._row_problem(cid, self.specs[key], row, expectation, obs)
                if problem:
                    add(Violation(f"{cid}'s row for {key} {problem} ({_conditions(row)})", self._fast(key)))

    def _row_problem(self, cid: str, spec: Spec, row: dict[str, Any], expectation: str, obs: Observation) -> str | None:
        ready, reason = condition(row, "Ready")
        observed = obs.aws[spec.ident]
        ours = observed is not None and observed.owner == (cid, spec.key)
        truthful = ours and observed is not None and not matches(spec, observed, cid, self._queue_aws_name(spec))
        if expectation == "managed-if-owner":
            expectation = "managed" if ours else "conflict"
        if expectation == "invalid":
            return None if (ready, reason) == ("False", "InvalidSpec") else "must say Ready=False reason InvalidSpec"
        if expectation == "managed":
            return None if ready == "True" else "must be Ready=True: the resource exists, is ours and matches"
        if expectation == "conflict":
            return None if (ready, reason) == ("False", "Conflict") else (
                f"must say Ready=False reason Conflict: AWS tags say {observed.owner if observed else None}")
        if expectation == "blocked":
            return None if ready != "True" else "must not be Ready: a dependency is not Ready"
        if expectation == "suspended":
            if condition(row, "Synced")[1] != "Suspended":
                return "must say Synced reason Suspended"
            if ready == "True" and not truthful:
                return "is Ready=True, but the resource is missing, not ours, or differs"
            return None
        # observe-only: Ready exactly when the resource exists, is ours and matches
        if (ready == "True") != truthful:
            return f"must be Ready={truthful}: exists={observed is not None} ours={ours}"
        if observed is not None and not ours and not spec.adopt and reason != "Conflict":
            return "must say reason Conflict: the resource is not ours"
        return None

    def _check_inventories(self, proposal: Proposal, obs: Observation, running: list[str]) -> None:
        add = proposal.violations.append
        listed: dict[tuple[str, str], list[str]] = {}
        for cid in running:
            actual, wanted = obs.inventory[cid], proposal.tracked[cid]
            for key, ident in sorted(actual - wanted):
                add(Violation(f"{cid}'s inventory lists {key} -> {ident[0]} {ident[1]}, which it does not own",
                              self._fast(key)))
            for key, ident in sorted(wanted - actual):
                add(Violation(f"{cid}'s inventory lacks {key} -> {ident[0]} {ident[1]}, which it owns",
                              self._fast(key)))
            for key, ident in actual:
                listed.setdefault(ident, []).append(cid)
                observed = obs.aws.get(ident)
                if observed is not None and observed.owner != (cid, key):
                    add(Violation(f"{cid}'s inventory lists {ident[0]} {ident[1]} as {key}, but its tags say "
                                  f"owner={observed.owner[0]} resource={observed.owner[1]}", self._fast(key)))
        for ident, owners in sorted(listed.items()):
            if len(owners) > 1:
                add(Violation(f"{ident[0]} {ident[1]} has two owners: the inventories of {sorted(owners)} list it",
                              self._fast(None)))

    def _commit(self, proposal: Proposal, obs: Observation) -> None:
        self.res = proposal.res
        self.tracked = proposal.tracked
        self.snapshots = {ident: observed for ident, observed in obs.aws.items() if observed is not None}
        self.validity = {key: self._valid(spec) for key, spec in self.specs.items()}
        for key, spec in self.specs.items():
            if self.validity[key]:
                self.last_valid[key] = spec


def _conditions(row: dict[str, Any]) -> str:
    return ", ".join(f"{c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message')}"
                     for c in row.get("conditions", []))


def _difference(before: Observed, after: Observed) -> str:
    keys = sorted(set(before.config) | set(after.config))
    changed = [f"{key}: {before.config.get(key)!r} -> {after.config.get(key)!r}"
               for key in keys if before.config.get(key) != after.config.get(key)]
    if before.tags != after.tags:
        changed.append(f"tags: {before.tags} -> {after.tags}")
    return "; ".join(changed)


def _trace(message: str) -> None:
    """TRIMTAB_MODEL_TRACE=FILE: a line per settled step, to see where the time goes."""
    path = os.environ.get("TRIMTAB_MODEL_TRACE")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{time.strftime('%H:%M:%S')} {message}\n")


def _tag_set(tags: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": key, "Value": value} for key, value in tags.items()]}


def _environment(moto: LocalEmulator, tmp_path: Path) -> None:
    TrimtabModel.env.emulator = moto
    TrimtabModel.env.base = tmp_path


def test_model_random_sequences(moto: LocalEmulator, tmp_path: Path) -> None:
    _environment(moto, tmp_path)
    run_state_machine_as_test(TrimtabModel, settings=MODEL_SETTINGS)


# ---- regression tests: sequences Hypothesis found, replayed exactly -------------------------------------

def replay(moto: LocalEmulator, tmp_path: Path, *steps: tuple[str, dict[str, Any]]) -> None:
    _environment(moto, tmp_path)
    machine = TrimtabModel()
    try:
        machine.converged()
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            machine.converged()
    finally:
        machine.teardown()


def _queue(name: str, aws_name: str | None = None, **fields: Any) -> Spec:
    return Spec("Queue", name, aws_name or name, **fields)


def test_regression_manual_resyncs_multiply_reads(moto: LocalEmulator, tmp_path: Path) -> None:
    """Each manual resync (or SIGHUP, or edit) starts another periodic drift-check chain for the item:
    reads per interval grow with every resync ever requested."""
    replay(moto, tmp_path, *[("apply_resync", {"item": None})] * 6, ("apply_check_read_budget", {}))


def test_regression_two_controllers_both_claim_a_new_queue(moto: LocalEmulator, tmp_path: Path) -> None:
    """Two controllers (different ids) see a new spec at once; CreateQueue succeeds for both, and both
    record the queue as theirs (and then fight over its owner tag)."""
    replay(moto, tmp_path, ("apply_start_second", {}), ("apply_add", {"spec": _queue("q-one")}))


def test_regression_rename_deletes_the_old_queue(moto: LocalEmulator, tmp_path: Path) -> None:
    """spec.queueName changes with metadata.name kept: the new queue is created, but the old one (owned,
    deletionPolicy Delete) is orphaned: the inventory entry is overwritten instead of pruned."""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}),
           ("apply_rename", {"key": "Queue/q-one", "aws_name": "q-two"}))


def test_regression_invalid_spec_is_not_green(moto: LocalEmulator, tmp_path: Path) -> None:
    """A spec made invalid keeps its old Ready=True row, at the old revision, instead of InvalidSpec."""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}), ("apply_break", {"key": "Queue/q-one"}))


def test_regression_removed_conflicting_spec_leaves_no_row(moto: LocalEmulator, tmp_path: Path) -> None:
    """A removed spec that never owned its resource (here a conflict with a foreign queue) keeps its
    status row forever: only pruned inventory entries delete rows."""
    replay(moto, tmp_path, ("apply_create_foreign", {"resource": ("Queue", "q-one"), "owner": None}),
           ("apply_add", {"spec": _queue("q-one")}), ("apply_remove", {"key": "Queue/q-one"}))


def test_regression_put_back_spec_is_recreated_at_once(moto: LocalEmulator, tmp_path: Path) -> None:
    """A spec removed (its queue deleted) and put back unchanged has the same hash as before, so it is
    not queued; its drift-check chain died while it was absent, so it is never re-created. (The read
    budget step only lets a few resync intervals pass: put back right away, the old chain masks it.)"""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}), ("apply_remove", {"key": "Queue/q-one"}),
           ("apply_check_read_budget", {}), ("apply_put_back", {"key": "Queue/q-one"}))


def test_regression_suspended_spec_edit_is_not_green(moto: LocalEmulator, tmp_path: Path) -> None:
    """Suspended, then edited: AWS (rightly) keeps the old attributes, but the row still says Ready=True,
    though the resource no longer matches the live spec."""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}),
           ("apply_toggle", {"key": "Queue/q-one", "policy": "suspend"}),
           ("apply_edit", {"key": "Queue/q-one", "visibility": 60}))


def test_regression_retain_then_remove(moto: LocalEmulator, tmp_path: Path) -> None:
    """deletionPolicy Delete -> Retain needs no AWS change, so the inventory keeps Delete, and removing
    the spec deletes the queue it was told to retain."""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}),
           ("apply_toggle", {"key": "Queue/q-one", "policy": "deletionPolicy"}),
           ("apply_remove", {"key": "Queue/q-one"}))


def test_regression_observe_only_then_remove(moto: LocalEmulator, tmp_path: Path) -> None:
    """managementPolicy Full -> ObserveOnly ("change nothing"), then the spec is removed: the prune
    deletes the resource anyway (deletionPolicy Delete, recorded while it was Full)."""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}),
           ("apply_toggle", {"key": "Queue/q-one", "policy": "managementPolicy"}),
           ("apply_remove", {"key": "Queue/q-one"}))


def test_regression_rename_onto_a_foreign_queue_retires_the_old_one(moto: LocalEmulator, tmp_path: Path) -> None:
    """A rename onto a name trimtab does not own (a foreign queue, or one the other controller won) is a
    conflict; the old queue, owned and deletionPolicy Delete, must still be deleted, not kept forever."""
    replay(moto, tmp_path, ("apply_create_foreign", {"resource": ("Queue", "q-two"), "owner": None}),
           ("apply_add", {"spec": _queue("q-one")}), ("apply_rename", {"key": "Queue/q-one", "aws_name": "q-two"}))


def test_regression_reconcile_in_flight_does_not_overwrite_invalid_row(moto: LocalEmulator, tmp_path: Path) -> None:
    """The spec turns invalid while its reconcile waits on AWS: the reconcile's outcome (Ready=True, the old
    revision) replaces the InvalidSpec row."""
    replay(moto, tmp_path, ("apply_add", {"spec": _queue("q-one")}),
           ("apply_mid_reconcile", {"key": "Queue/q-one", "change": "break"}))


def test_regression_reconcile_in_flight_does_not_revive_a_removed_row(moto: LocalEmulator, tmp_path: Path) -> None:
    """A conflicting spec is removed while its reconcile waits on AWS: the outcome is recorded after the
    removal, and the row of a spec that is gone stays."""
    replay(moto, tmp_path, ("apply_create_foreign", {"resource": ("Queue", "q-one"), "owner": None}),
           ("apply_add", {"spec": _queue("q-one")}),
           ("apply_mid_reconcile", {"key": "Queue/q-one", "change": "remove"}))
