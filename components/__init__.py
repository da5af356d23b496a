"""Pulumi ComponentResources, one per module. Type tokens: ``switchyard:<module>:<Type>``."""
