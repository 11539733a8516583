"""The table of kinds in the spec language: kind name to model class."""

from __future__ import annotations

from controller.api.alarm import Alarm
from controller.api.bucket import Bucket
from controller.api.envelope import Resource
from controller.api.queue import Queue
from controller.api.scalable_target import ScalableTarget
from controller.api.scaling_policy import ScalingPolicy

MODELS: dict[str, type[Resource]] = {
    model.KIND: model for model in (Queue, Bucket, ScalableTarget, ScalingPolicy, Alarm)
}
