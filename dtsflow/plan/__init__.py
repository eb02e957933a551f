"""Stage 2 — plan: diff the manifests against the live tasks into a `Plan`, render it, save and load it.

No I/O, with two named exceptions: `refresh` reads the live tasks through the `DtsClient` it is given, and `saved`
owns plan files. It may import `dtsflow.manifest.model` and `dtsflow.manifest.grammar`, the `dtsflow.client` data
modules (live, wire, statuses, reverse) and protocol, and `dtsflow.errors`; never httpx, the HTTP client,
credentials, the manifest readers, apply, the commands or the emulator.
"""
