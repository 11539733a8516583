"""trimtab: keeps AWS resources matching Kubernetes-shaped YAML specs."""

__version__ = "0.1.0"
