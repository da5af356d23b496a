"""The CI driver: a release over the stack port, its checks, record, metrics and PR previews."""
