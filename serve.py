"""Start Waypoint: `python serve.py [streamlit options]` is `streamlit run app.py [options]`, minus
Streamlit's two lookups of the machine's own addresses.

`.streamlit/config.toml` names the address, so Streamlit prints no Network or External URL and
does not look them up at start. But it still does when a web page from another origin opens the
app's websocket (any page the user visits can try): before refusing it, Streamlit compares the
origin with the machine's LAN address (a socket "connected" to 8.8.8.8) and its public one (an
HTTP request to checkip.amazonaws.com). Offline means nothing leaves the machine, so here both are
unknown: such a page is refused without asking anyone. `make run` starts the app this way.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit import net_util
from streamlit.web import cli

APP = Path(__file__).resolve().parent / "app.py"
LOOKUPS = ("get_internal_ip", "get_external_ip")


def no_address_lookups() -> None:
    """Make Streamlit's own-address lookups answer "unknown" without touching the network."""
    for name in LOOKUPS:
        if not callable(getattr(net_util, name, None)):
            raise RuntimeError(
                f"streamlit.net_util.{name} is gone: check serve.py against Streamlit"
            )
        setattr(net_util, name, lambda: None)


if __name__ == "__main__":
    no_address_lookups()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    cli.main(prog_name="streamlit")
