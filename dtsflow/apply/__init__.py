"""Stage 3 — apply: carry out a `Plan`'s steps through a `DtsClient`, crash-safe, and report what happened.

It may import `dtsflow.plan.model` (a plan step describes itself: no transition table, no planner),
`dtsflow.manifest.model` and `dtsflow.manifest.grammar`, the `dtsflow.client` protocol and data modules,
`dtsflow.clock` and `dtsflow.errors`; it never reads manifests (it is given specs), never builds an HTTP client and
never imports the commands or the emulator.
"""
