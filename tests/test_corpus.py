"""The corpus: configurations AWS accepts must validate and apply; single faults AWS rejects must be refused.

tests/corpus/accepted/: valid but unusual configurations, one file each, a comment on top naming the
source (an AWS documentation page, or an ACK, Crossplane or Terraform example). Each must validate, then
apply to moto and plan in sync.

tests/corpus/rejected/: one fault per file. The first line names the AWS rule broken and the field the
error must name (`field: spec.x.y`; a trailing `*` accepts that path or any path below it). The line the
error must point at carries the marker `# <-`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.api.errors import SpecError
from controller.sources.desired import DesiredState, parse_files
from tests.external_endpoint import SEEDS_ECS, configured_endpoint, skip_unless_moto
from tests.helpers import Harness

CORPUS = Path(__file__).resolve().parent / "corpus"
ACCEPTED = sorted((CORPUS / "accepted").glob("*.yaml"))
REJECTED = sorted((CORPUS / "rejected").glob("*.yaml"))

# Configurations AWS accepts that trimtab refuses today because of field constraints in the models
# (controller/api/*.py), which another change is rewriting from botocore's models. They are expected
# failures with strict=True: once that work lands they XPASS, which FAILS the run. When that happens,
# remove the file from this list.
AWAITING_MODEL_CONSTRAINTS: dict[str, str] = {}

# Faults AWS rejects that trimtab accepts today for the same reason: the model constraints being
# rewritten from botocore's models. Expected failures with strict=True as well: when they XPASS,
# remove them from this list.
AWAITING_MODEL_CONSTRAINTS_REJECTED: dict[str, str] = {}

# Rejected files whose rule the page they cite does not state, so trimtab does not refuse them ("never
# refuse a configuration AWS accepts"). Expected failures with strict=True: if trimtab starts refusing them,
# the run FAILS, and the refusal needs a source first.
NOT_DOCUMENTED_BY_AWS: dict[str, str] = {
    "policy-target-value-zero.yaml": "TargetValue: 'Values must be in the range of -2^360 to 2^360' (botocore's "
                                     "documentation of the cited page)",
    "policy-cooldown-over-a-day.yaml": "the cited page gives Cooldown as an Integer with no maximum",
}

# Faults between a scaling policy and its target (two specs), found by controller.api.rules.PAIR_RULES.
# Those run where the graph runs its pair rules (controller/api/graph.py, `_PAIR_RULES`), which this
# change does not edit. Expected failures with strict=True: once the graph runs PAIR_RULES they XPASS,
# which FAILS the run; then remove them from this list.
AWAITING_PAIR_RULES_IN_GRAPH: dict[str, str] = {}

# Accepted configurations that trimtab validates but cannot keep in sync: a bug outside the models
# (here in controller/kinds/scaling_policy.py, whose render() keeps the spec's step order while observe()
# sorts AWS's steps by lower bound, so steps written highest-first show as drift on every plan).
# Expected failures with strict=True: once fixed they XPASS, which FAILS the run; then remove them.
AWAITING_ENGINE_FIXES: dict[str, str] = {}

# Accepted files that are validated but not applied, because moto does not emulate what AWS documents.
MOTO_CANNOT_EMULATE: dict[str, str] = {
    "scaling-elasticache-shards.yaml": "moto's Application Auto Scaling has no elasticache namespace",
    "scaling-neptune-replicas.yaml": "moto's Application Auto Scaling has no neptune namespace",
    "alarm-interquartile-mean.yaml": "moto refuses the IQM extended statistic",
    "alarm-trimmed-mean.yaml": "moto refuses the TM(10%:90%) extended statistic",
    "bucket-lifecycle-newer-noncurrent-versions.yaml": "moto drops NewerNoncurrentVersions from noncurrent expiration",
    "bucket-lifecycle-size-range-and.yaml": "moto drops ObjectSizeGreaterThan and ObjectSizeLessThan from filters",
    "bucket-lifecycle-size-range-only.yaml": "moto drops ObjectSizeGreaterThan and ObjectSizeLessThan from filters",
    "queue-redrive-allow-by-queue.yaml": "moto drops RedriveAllowPolicy (CreateQueue and SetQueueAttributes)",
    "queue-redrive-deny-all.yaml": "moto drops RedriveAllowPolicy (CreateQueue and SetQueueAttributes)",
    "scaling-ecs-predictive-forecast-and-scale.yaml": "moto refuses PolicyType PredictiveScaling",
    "scaling-ecs-predictive-customized-metrics.yaml": "moto refuses PolicyType PredictiveScaling",
    "bucket-requester-pays.yaml": "moto does not implement request payment (it reads as BucketOwner)",
    "bucket-intelligent-tiering-archive.yaml": "moto does not implement intelligent tiering configurations",
    "bucket-replication-filtered-with-delete-markers.yaml":
        "moto reports every replication rule's filter as an empty prefix, its delete markers not replicated",
}

_FIELD = re.compile(r"\bfield: (\S+)")
_MARKER = "# <-"


def _param(path: Path, *awaiting: dict[str, str]) -> object:
    for table in awaiting:
        if path.name in table:
            return pytest.param(path, id=path.name, marks=pytest.mark.xfail(reason=table[path.name], strict=True))
    return pytest.param(path, id=path.name)


def _parse(path: Path) -> DesiredState:
    # A path relative to the corpus, so that errors read like `trimtab validate`'s.
    return parse_files({f"{path.parent.name}/{path.name}": path.read_bytes()})


def test_corpus_sizes() -> None:
    assert len(ACCEPTED) >= 40
    assert len(REJECTED) >= 80
    kinds = {path.name.split("-", 1)[0] for path in REJECTED}
    assert {"queue", "bucket", "alarm", "target", "policy", "pair"} <= kinds


def test_every_listed_file_exists() -> None:
    names = {path.name for path in ACCEPTED} | {path.name for path in REJECTED}
    listed = (set(AWAITING_MODEL_CONSTRAINTS) | set(AWAITING_MODEL_CONSTRAINTS_REJECTED)
              | set(AWAITING_PAIR_RULES_IN_GRAPH) | set(AWAITING_ENGINE_FIXES) | set(MOTO_CANNOT_EMULATE)
              | set(NOT_DOCUMENTED_BY_AWS))
    assert listed <= names, sorted(listed - names)


@pytest.mark.parametrize("path", [_param(path) for path in ACCEPTED])
def test_accepted_names_its_source(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# Source: "), f"{path.name}: the first line must name the source"


@pytest.mark.parametrize("path", [_param(path, AWAITING_MODEL_CONSTRAINTS, AWAITING_ENGINE_FIXES) for path in ACCEPTED])
async def test_accepted_validates_applies_and_is_in_sync(harness: Harness, path: Path) -> None:
    state = _parse(path)
    assert not state.errors, "\n".join(str(error) for error in state.errors)
    text = path.read_text()  # noqa: ASYNC240 (a small local file)
    if configured_endpoint() is None and path.name in MOTO_CANNOT_EMULATE:
        pytest.skip(f"validated, not applied: {MOTO_CANNOT_EMULATE[path.name]} (docs/aws-emulator.md)")
    if "kind: ScalableTarget" in text:
        skip_unless_moto(SEEDS_ECS)
    harness.write({path.name: text})
    applied = await harness.apply()
    assert not applied.failed, {key: (o.action, o.message) for key, o in applied.outcomes.items()}
    planned = await harness.plan()
    assert planned.in_sync, {key: (o.action, o.changes, o.message) for key, o in planned.outcomes.items()}


def _expected(path: Path) -> tuple[str, int]:
    lines = path.read_text().splitlines()
    found = _FIELD.search(lines[0])
    assert lines[0].startswith("# ") and found, f"{path.name}: the first line must name the rule and `field: PATH`"
    marked = [number for number, line in enumerate(lines, start=1) if _MARKER in line]
    assert len(marked) == 1, f"{path.name}: mark the offending line with one {_MARKER!r}"
    return found.group(1), marked[0]


def _field_matches(expected: str, error: SpecError) -> bool:
    if expected.endswith("*"):
        prefix = expected[:-1]
        return error.field == prefix or error.field.startswith((f"{prefix}.", f"{prefix}["))
    return error.field == expected


@pytest.mark.parametrize(
    "path", [_param(path, AWAITING_MODEL_CONSTRAINTS_REJECTED, AWAITING_PAIR_RULES_IN_GRAPH, NOT_DOCUMENTED_BY_AWS)
             for path in REJECTED]
)
def test_rejected_names_file_line_column_and_field(path: Path) -> None:
    field, line = _expected(path)
    state = _parse(path)
    assert state.errors, f"{path.name} was accepted; expected an error on {field}"
    matching = [error for error in state.errors if _field_matches(field, error)]
    assert matching, f"no error on {field}; got: {[str(error) for error in state.errors]}"
    error = matching[0]
    assert error.line == line, str(error)
    text = str(error)
    assert re.match(rf"^rejected/{re.escape(path.name)}:{line}:\d+: [A-Za-z]+/[^:]+: {re.escape(error.field)}: ",
                    text), text
