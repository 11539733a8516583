"""What Application Auto Scaling documents per service namespace: scalable dimensions, resource id
formats, predefined metric types and policy types.

Sources:
- dimensions and resource ids: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
  (ResourceId, ScalableDimension);
- predefined metrics: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html
  and https://docs.aws.amazon.com/autoscaling/application/userguide/monitor-cloudwatch-metrics.html
  ("The ALBRequestCountPerTarget metric type applies only to Spot Fleets and ECS services"; AWS answers
  "Scalable dimension X only supports the following predefined metric types: ...");
- policy types: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html (PolicyType).
"""

from __future__ import annotations

import re

_ARN = r"arn:aws[a-z-]*"
_REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d"
_ACCOUNT = r"\d{12}"

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "ecs": ("ecs:service:DesiredCount",),
    "elasticmapreduce": ("elasticmapreduce:instancegroup:InstanceCount",),
    "ec2": ("ec2:spot-fleet-request:TargetCapacity",),
    "appstream": ("appstream:fleet:DesiredCapacity",),
    "dynamodb": ("dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits",
                 "dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits"),
    "rds": ("rds:cluster:ReadReplicaCount",),
    "sagemaker": ("sagemaker:variant:DesiredInstanceCount", "sagemaker:variant:DesiredProvisionedConcurrency",
                  "sagemaker:inference-component:DesiredCopyCount"),
    "custom-resource": ("custom-resource:ResourceType:Property",),
    "comprehend": ("comprehend:document-classifier-endpoint:DesiredInferenceUnits",
                   "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits"),
    "lambda": ("lambda:function:ProvisionedConcurrency",),
    "cassandra": ("cassandra:table:ReadCapacityUnits", "cassandra:table:WriteCapacityUnits"),
    "kafka": ("kafka:broker-storage:VolumeSize",),
    "elasticache": ("elasticache:cache-cluster:Nodes", "elasticache:replication-group:NodeGroups",
                    "elasticache:replication-group:Replicas"),
    "neptune": ("neptune:cluster:ReadReplicaCount",),
    "workspaces": ("workspaces:workspacespool:DesiredUserSessions",),
}

# "namespace:resource-type" (the first two parts of a dimension) -> (resource id pattern, the form to show).
# custom-resource has none: its id is whatever the provider's CloudFormation stack outputs.
RESOURCE_IDS: dict[str, tuple[re.Pattern[str], str]] = {
    key: (re.compile(pattern), shown) for key, (pattern, shown) in {
        "ecs:service": (r"^service/[^/]+/[^/]+$", "service/CLUSTER/SERVICE"),
        "elasticmapreduce:instancegroup": (r"^instancegroup/j-[A-Za-z0-9]+/ig-[A-Za-z0-9]+$",
                                           "instancegroup/j-CLUSTERID/ig-GROUPID"),
        "ec2:spot-fleet-request": (r"^spot-fleet-request/sfr-[A-Za-z0-9-]+$", "spot-fleet-request/sfr-ID"),
        "appstream:fleet": (r"^fleet/[^/]+$", "fleet/FLEET"),
        "dynamodb:table": (r"^table/[^/]+$", "table/TABLE"),
        "dynamodb:index": (r"^table/[^/]+/index/[^/]+$", "table/TABLE/index/INDEX"),
        "rds:cluster": (r"^cluster:[^:/]+$", "cluster:DB-CLUSTER"),
        "sagemaker:variant": (r"^endpoint/[^/]+/variant/[^/]+$", "endpoint/ENDPOINT/variant/VARIANT"),
        "sagemaker:inference-component": (r"^inference-component/[^/]+$", "inference-component/NAME"),
        "comprehend:document-classifier-endpoint": (
            rf"^{_ARN}:comprehend:{_REGION}:{_ACCOUNT}:document-classifier-endpoint/[^/]+$",
            "arn:aws:comprehend:REGION:ACCOUNT:document-classifier-endpoint/NAME"),
        "comprehend:entity-recognizer-endpoint": (
            rf"^{_ARN}:comprehend:{_REGION}:{_ACCOUNT}:entity-recognizer-endpoint/[^/]+$",
            "arn:aws:comprehend:REGION:ACCOUNT:entity-recognizer-endpoint/NAME"),
        "lambda:function": (r"^function:[^:]+:[^:]+$", "function:FUNCTION:ALIAS-OR-VERSION"),
        "cassandra:table": (r"^keyspace/[^/]+/table/[^/]+$", "keyspace/KEYSPACE/table/TABLE"),
        "kafka:broker-storage": (rf"^{_ARN}:kafka:{_REGION}:{_ACCOUNT}:cluster/[^/]+/[^/]+$",
                                 "arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID"),
        "elasticache:replication-group": (r"^replication-group/[^/]+$", "replication-group/GROUP"),
        "elasticache:cache-cluster": (r"^cache-cluster/[^/]+$", "cache-cluster/CLUSTER"),
        "neptune:cluster": (r"^cluster:[^:/]+$", "cluster:DB-CLUSTER"),
        "workspaces:workspacespool": (r"^workspacespool/wspool-[A-Za-z0-9]+$", "workspacespool/wspool-ID"),
    }.items()
}

_ELASTICACHE = frozenset({
    "ElastiCacheEngineCPUUtilization", "ElastiCacheDatabaseMemoryUsagePercentage",
    "ElastiCachePrimaryEngineCPUUtilization", "ElastiCacheReplicaEngineCPUUtilization",
    "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage",
    "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage",
})
# Scalable dimension -> the predefined metric types AWS takes for it. ElastiCache's split between its
# three dimensions is not in the API reference, so any ElastiCache type is taken for any of them.
PREDEFINED_METRICS: dict[str, frozenset[str]] = {
    "ecs:service:DesiredCount": frozenset({
        "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"}),
    "ec2:spot-fleet-request:TargetCapacity": frozenset({
        "EC2SpotFleetRequestAverageCPUUtilization", "EC2SpotFleetRequestAverageNetworkIn",
        "EC2SpotFleetRequestAverageNetworkOut", "ALBRequestCountPerTarget"}),
    "appstream:fleet:DesiredCapacity": frozenset({"AppStreamAverageCapacityUtilization"}),
    "dynamodb:table:ReadCapacityUnits": frozenset({"DynamoDBReadCapacityUtilization"}),
    "dynamodb:index:ReadCapacityUnits": frozenset({"DynamoDBReadCapacityUtilization"}),
    "dynamodb:table:WriteCapacityUnits": frozenset({"DynamoDBWriteCapacityUtilization"}),
    "dynamodb:index:WriteCapacityUnits": frozenset({"DynamoDBWriteCapacityUtilization"}),
    "rds:cluster:ReadReplicaCount": frozenset({
        "RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections"}),
    "sagemaker:variant:DesiredInstanceCount": frozenset({
        "SageMakerVariantInvocationsPerInstance", "SageMakerVariantConcurrentRequestsPerModelHighResolution"}),
    "sagemaker:variant:DesiredProvisionedConcurrency": frozenset({"SageMakerVariantProvisionedConcurrencyUtilization"}),
    "sagemaker:inference-component:DesiredCopyCount": frozenset({
        "SageMakerInferenceComponentInvocationsPerCopy",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"}),
    "comprehend:document-classifier-endpoint:DesiredInferenceUnits": frozenset({"ComprehendInferenceUtilization"}),
    "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits": frozenset({"ComprehendInferenceUtilization"}),
    "lambda:function:ProvisionedConcurrency": frozenset({"LambdaProvisionedConcurrencyUtilization"}),
    "cassandra:table:ReadCapacityUnits": frozenset({"CassandraReadCapacityUtilization"}),
    "cassandra:table:WriteCapacityUnits": frozenset({"CassandraWriteCapacityUtilization"}),
    "kafka:broker-storage:VolumeSize": frozenset({"KafkaBrokerStorageUtilization"}),
    "elasticache:cache-cluster:Nodes": _ELASTICACHE,
    "elasticache:replication-group:NodeGroups": _ELASTICACHE,
    "elasticache:replication-group:Replicas": _ELASTICACHE,
    "neptune:cluster:ReadReplicaCount": frozenset({"NeptuneReaderAverageCPUUtilization"}),
    "workspaces:workspacespool:DesiredUserSessions": frozenset({"WorkSpacesAverageUserSessionsCapacityUtilization"}),
    "elasticmapreduce:instancegroup:InstanceCount": frozenset(),
    "custom-resource:ResourceType:Property": frozenset(),
}
KNOWN_PREDEFINED_METRICS = frozenset().union(*PREDEFINED_METRICS.values())

# PolicyType: "TargetTrackingScaling—Not supported for Amazon EMR. StepScaling—Not supported for DynamoDB,
# Amazon Comprehend, Lambda, Amazon Keyspaces, Amazon MSK, Amazon ElastiCache, or Neptune."
NO_STEP_SCALING = frozenset({"dynamodb", "comprehend", "lambda", "cassandra", "kafka", "elasticache", "neptune"})
NO_TARGET_TRACKING = frozenset({"elasticmapreduce"})
PREDICTIVE_SCALING = frozenset({"ecs"})  # "PredictiveScaling—Only supported for Amazon ECS."


def resource_type_key(dimension: str) -> str:
    """"ecs:service:DesiredCount" -> "ecs:service"."""
    return ":".join(dimension.split(":")[:2])
