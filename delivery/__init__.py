"""Everything that runs without the Pulumi engine: config model, planning, the cutover engine."""
