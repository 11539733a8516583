"""Metric shapes in CloudWatch's wire format, shared by alarms and target-tracking policies."""

from __future__ import annotations

from typing import Any

from controller.api.metrics import DimensionRef, DimensionValue, MetricQuery
from controller.kinds.base import RefResolver


def dimensions(values: dict[str, DimensionValue], refs: RefResolver) -> list[dict[str, str]]:
    """Name/Value pairs sorted by name (AWS does not keep order), references resolved to AWS names."""
    rendered = []
    for name, value in sorted(values.items()):
        if isinstance(value, DimensionRef):
            ref = value.queue_ref or value.bucket_ref
            assert ref is not None  # exactly one is set, by the model
            rendered.append({"Name": name, "Value": refs.output(ref, "name")})
        else:
            rendered.append({"Name": name, "Value": value})
    return rendered


def metric_queries(queries: list[MetricQuery], refs: RefResolver) -> list[dict[str, Any]]:
    rendered = []
    for query in queries:
        item: dict[str, Any] = {"Id": query.id, "ReturnData": query.return_data is not False}
        if query.expression is not None:
            item["Expression"] = query.expression
        if query.label is not None:
            item["Label"] = query.label
        if query.period is not None:
            item["Period"] = query.period
        if query.metric_stat is not None:
            stat = query.metric_stat
            metric_stat: dict[str, Any] = {
                "Metric": {
                    "Namespace": stat.metric.namespace,
                    "MetricName": stat.metric.metric_name,
                    "Dimensions": dimensions(stat.metric.dimensions, refs),
                },
                "Stat": stat.stat,
            }
            if stat.period is not None:
                metric_stat["Period"] = stat.period
            if stat.unit is not None:
                metric_stat["Unit"] = stat.unit
            item["MetricStat"] = metric_stat
        rendered.append(item)
    return rendered


def normalise_queries(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Observed queries in the rendered shape: ReturnData defaulted, dimensions sorted."""
    normalised = []
    for query in queries:
        item = {key: value for key, value in query.items()
                if key in {"Id", "Expression", "Label", "MetricStat", "Period"}}
        item["ReturnData"] = query.get("ReturnData", True)
        if "MetricStat" in item:
            stat = dict(item["MetricStat"])
            metric = dict(stat["Metric"])
            metric["Dimensions"] = sorted(metric.get("Dimensions", []), key=lambda d: d["Name"])
            stat["Metric"] = metric
            item["MetricStat"] = stat
        normalised.append(item)
    return normalised
