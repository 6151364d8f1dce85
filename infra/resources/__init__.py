"""One module per AWS service, each a :class:`infra.core.Resource` that reads, diffs and applies itself."""
