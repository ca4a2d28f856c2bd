"""Start Waypoint on this machine: `python serve.py [streamlit options]` is `streamlit run app.py
[options]` with local defaults, minus Streamlit's two lookups of the machine's own addresses.

The local defaults: listen on 127.0.0.1 and accept the websocket only for the host names
localhost and 127.0.0.1 (a page that rebinds its own name to 127.0.0.1 is refused), unless the
command line (or a STREAMLIT_SERVER_* variable) names others. They live here, not in
`.streamlit/config.toml`, because a hosting service such as Streamlit Community Cloud runs
`streamlit run app.py` itself with that same file, behind its own proxy: a loopback address or a
host list pinned there would lock its proxy out. Naming the address also means Streamlit prints no
Network or External URL and does not look them up at start.

It still looks them up when a web page from another origin opens the app's websocket (any page the
user visits can try): before refusing it, Streamlit compares the origin with the machine's LAN
address (a socket "connected" to 8.8.8.8) and its public one (an HTTP request to
checkip.amazonaws.com). Offline means nothing leaves the machine, so here both are unknown: such a
page is refused without asking anyone. `make run` starts the app this way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from streamlit import net_util
from streamlit.web import cli

APP = Path(__file__).resolve().parent / "app.py"
LOOKUPS = ("get_internal_ip", "get_external_ip")
# (option, environment variable that also sets it, local default values)
LOCAL_DEFAULTS = (
    ("--server.address", "STREAMLIT_SERVER_ADDRESS", ("127.0.0.1",)),
    ("--server.allowedHosts", "STREAMLIT_SERVER_ALLOWED_HOSTS", ("localhost", "127.0.0.1")),
)


def no_address_lookups() -> None:
    """Make Streamlit's own-address lookups answer "unknown" without touching the network."""
    for name in LOOKUPS:
        if not callable(getattr(net_util, name, None)):
            raise RuntimeError(
                f"streamlit.net_util.{name} is gone: check serve.py against Streamlit"
            )
        setattr(net_util, name, lambda: None)


def with_local_defaults(args: Sequence[str]) -> list[str]:
    """`args` plus the local address and host names for each option they (or the environment)
    leave unset; `--opt value` and `--opt=value` both count as set."""
    added: list[str] = []
    for option, variable, values in LOCAL_DEFAULTS:
        named = any(arg == option or arg.startswith(f"{option}=") for arg in args)
        if not named and variable not in os.environ:
            added += [part for value in values for part in (option, value)]
    return [*args, *added]


if __name__ == "__main__":
    no_address_lookups()
    sys.argv = ["streamlit", "run", str(APP), *with_local_defaults(sys.argv[1:])]
    cli.main(prog_name="streamlit")
