"""Model builders: one function per variant, named by the `_target_` of its YAML."""
