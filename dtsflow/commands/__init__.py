"""The commands: one module per `dtsflow` command, each `run(args) -> int` with its frozen arguments
(`dtsflow.commands.args`), plus what they share (`common`) and the one place that builds an API client (`connect`).

The glue of the pipeline: it may import every stage (manifest, plan, apply, client) and, from `connect` and the
`emulator` command only, the emulator.
"""
