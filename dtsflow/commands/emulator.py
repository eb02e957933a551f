"""`dtsflow emulator`: serve the DTS emulator in the foreground until Ctrl-C (exit 130) or SIGTERM (exit 0)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

from dtsflow.client.loopback import is_loopback_host
from dtsflow.emulator.config import DEV_ACCESS_KEY, DEV_SECRET_KEY
from dtsflow.emulator.settings import EmulatorOptions, durations_of, faults_of
from dtsflow.errors import ConfigError, ExitCode


def run(args: EmulatorOptions) -> int:
    from dtsflow.emulator.server import RunningEmulator, make_server
    from dtsflow.emulator.store import StateError

    secret = args.secret_key or os.environ.get("DTSFLOW_EMULATOR_SECRET_KEY")
    if bool(args.access_key) != bool(secret):
        raise ConfigError("give both --access-key and --secret-key (or neither, for the development keys)")
    access_key = args.access_key or DEV_ACCESS_KEY
    secret_key = secret or DEV_SECRET_KEY
    if args.time_scale < 0:
        raise ConfigError("--time-scale must not be negative")
    try:
        faults = faults_of(args)
        server = make_server(
            state_path=args.state,
            host=args.host,
            port=args.port,
            access_key=access_key,
            secret_key=secret_key,
            time_scale=args.time_scale,
            faults=faults,
            security_token=args.security_token,
            durations=durations_of(args),
            verbose=args.verbose,
            realism=args.realism,
        )
    except (ValueError, StateError) as exc:
        raise ConfigError(f"emulator: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    running = RunningEmulator(server, thread, args.state, temp_dir=None)  # its stop() is the one teardown
    url = running.url
    dev = secret_key == DEV_SECRET_KEY
    print(f"dtsflow emulator listening on {url}")
    print(f"  state file   {os.path.abspath(args.state)}")
    print(f"  access key   {access_key}")
    print(f"  secret key   {secret_key if dev else '(as given; not shown)'}")
    if args.security_token:
        print("  STS          requests must carry the configured x-bce-security-token")
    print(f"  admin token  {server.admin_token} (header X-Dtsflow-Emulator-Token for /_emulator/ requests)")
    print(f"  time scale   {args.time_scale:g}")
    print(f"  realism      {args.realism}")
    if faults:
        print(f"  faults       {', '.join(sorted(faults))}")
    if not is_loopback_host(args.host):
        print("  warning      listening beyond loopback; the development keys are public", file=sys.stderr)
    key_text = secret_key if dev else "<your secret key>"
    print(
        f"Use it:  DTSFLOW_ENDPOINT={url} BCE_ACCESS_KEY_ID={access_key} BCE_SECRET_ACCESS_KEY={key_text} dtsflow plan ..."
    )
    print("Ctrl-C stops it.", flush=True)

    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    thread.start()
    code = ExitCode.OK
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        running.stop()
    print("dtsflow emulator stopped", flush=True)
    return code
