"""Loaded by Python at start-up in test subprocesses: installs the loopback-only network guard."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import netguard

netguard.install()

if os.environ.get("WAYPOINT_RUN_SIGNAL_PORT"):  # a browser test wants the runs' start and end
    import run_signal

    run_signal.install()
