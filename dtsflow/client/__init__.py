"""The DTS API: the `DtsClient` protocol, its HTTP implementation, signing, credentials, the tolerant models of
the service's answers (`live`), the request bodies (`wire`) and the shared vocabulary (`statuses`, `reverse`,
`loopback`).

Only this package talks to the network. It may import `dtsflow.manifest.model` (what `wire` turns into request
bodies), `dtsflow.clock` and `dtsflow.errors`; never the plan, apply, the commands or the emulator. Importing it is
light: the data modules need no httpx.
"""
