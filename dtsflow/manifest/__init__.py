"""Stage 1 — manifests: read YAML files (rendered in a Jinja2 sandbox) into validated `TaskSpec`s.

The only package that reads manifests and var files. It may import `dtsflow.errors` and itself; never the client,
the plan, apply, the commands or the emulator.
"""
