"""The engine's boundary: pages and `ui/` use `agent.protocol` only, and it is plain data.

A second backend (a LangGraph Agent Server, over langgraph-sdk) must be able to stand behind the
same pages, so no page may reach past the protocol into the engine, nor import LangGraph itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from agent.settings import PROJECT_ROOT

ENGINE_LIBRARIES = ("langgraph", "langchain", "langchain_core", "langchain_openai", "sqlite3")
ALLOWED_AGENT_IMPORTS = {"agent.protocol"}
# The one factory that builds the backend, allowed where the app is put together; app.py also puts
# the web server's edge (agent/web_edge.py) in front of the pages.
FACTORY = ("agent", "open_backend")
FACTORY_USERS = {"app.py", "ui/resources.py"}
SERVER_EDGE = ("agent.web_edge", ("WaypointEdge",), "app.py")


def _page_files() -> list[Path]:
    files = [PROJECT_ROOT / "app.py"]
    for folder in ("ui", "app_pages"):
        files += sorted((PROJECT_ROOT / folder).glob("*.py"))
    return files


def _imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(module, names, line) of every import in the file, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, tuple(a.name for a in node.names), node.lineno))
    return found


def _violations(path: Path) -> list[str]:
    relative = path.relative_to(PROJECT_ROOT).as_posix()
    wrong = []
    for module, names, line in _imports(path):
        top = module.split(".")[0]
        where = f"{relative}:{line} imports {module}"
        if top in ENGINE_LIBRARIES:
            wrong.append(where)
        elif top == "agent" and module not in ALLOWED_AGENT_IMPORTS:
            factory = module == FACTORY[0] and names == (FACTORY[1],)
            edge = (module, names, relative) == SERVER_EDGE
            if not (factory and relative in FACTORY_USERS) and not edge:
                wrong.append(f"{where} {', '.join(names)}")
    return wrong


def test_pages_and_ui_import_only_the_protocol():
    files = _page_files()
    assert len(files) > 20, "the page files were not found"
    wrong = [problem for path in files for problem in _violations(path)]
    assert wrong == []


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The check above can fail: an engine import in a page file is reported."""
    page = tmp_path / "ui" / "bad.py"
    page.parent.mkdir()
    page.write_text(
        "from agent.backend import LocalBackend\n"
        "def f():\n    import langgraph.types\n"
        "from agent import open_backend\n"
        "from agent.protocol import Backend\n"
        "from agent.web_edge import WaypointEdge\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PROJECT_ROOT", tmp_path)
    assert sorted(_violations(page)) == [
        "ui/bad.py:1 imports agent.backend LocalBackend",
        "ui/bad.py:3 imports langgraph.types",
        "ui/bad.py:4 imports agent open_backend",  # the factory belongs to app.py and resources
        "ui/bad.py:6 imports agent.web_edge WaypointEdge",  # the server's edge, to app.py
    ]


def test_the_protocol_loads_no_engine_library():
    """Importing `agent.protocol` (all its plain types) loads neither LangGraph nor SQLite."""
    code = (
        "import sys, agent.protocol\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {ENGINE_LIBRARIES!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_local_backend_has_every_protocol_method():
    from agent.backend import LocalBackend
    from agent.protocol import Backend

    wanted = {n for n in vars(Backend) if not n.startswith("_")}
    assert wanted and wanted <= set(dir(LocalBackend))
