"""A small OpenID Connect provider on 127.0.0.1, for driving Streamlit's real `st.login` in tests.

It serves what Streamlit's Authlib client asks of a provider: the discovery document, an
authorize page, the token endpoint (authorization code, PKCE S256 checked, the client's secret
checked, the nonce put back into an RS256 id_token), the JWKS that verifies it, and userinfo.
The authorize page is a sign-in form with one button per known user ("Sign in as Alice"), so a
browser test chooses who logs in the way a person would, and two browser contexts can log in
as two people at once.

    with FakeOIDC(users=[OIDCUser("alice", "Alice")]) as provider:
        provider.auth_secrets(app_port)  # the [auth] section of a secrets.toml
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fake_http import FakeServer, RecordedRequest, RecordingHandler, ServerState

CLIENT_ID = "waypoint-test"
CLIENT_SECRET = "waypoint-test-secret"
KEY_ID = "fake-oidc-1"


@dataclass(frozen=True)
class OIDCUser:
    """One account the provider knows: `sub` is its stable id, the rest is shown to apps."""

    sub: str
    name: str
    email: str = ""

    @property
    def claims(self) -> dict[str, Any]:
        email = self.email or f"{self.sub}@example.test"
        return {"sub": self.sub, "name": self.name, "email": email, "email_verified": True}


DEFAULT_USERS = (
    OIDCUser("alice", "Alice Example"),
    OIDCUser("bob", "Bob Example"),
)


@dataclass
class _Grant:
    """What the authorize step promised, redeemed once at the token endpoint."""

    user: OIDCUser
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    method: str | None


@dataclass(kw_only=True)
class _State(ServerState):
    users: dict[str, OIDCUser]
    key: RSAKey
    issuer: str = ""
    grants: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, OIDCUser] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)  # subs, in the order they signed in


class FakeOIDC(FakeServer[RecordedRequest]):
    """The provider: `with FakeOIDC() as provider`, point an app's [auth] at `provider.url`."""

    def __init__(self, users: Sequence[OIDCUser] = DEFAULT_USERS, *, max_wait: float = 10.0):
        key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        state = _State(users={u.sub: u for u in users}, key=key, max_wait=max_wait)
        super().__init__(state, _Handler)

    def start(self) -> FakeOIDC:
        super().start()
        self._state.issuer = self.url  # type: ignore[attr-defined]  # _State's
        return self

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def logins(self) -> list[str]:
        """The subs that completed a token exchange, in order."""
        with self._state.changed:
            return list(self._state.logins)  # type: ignore[attr-defined]  # _State's

    def auth_secrets(self, app_port: int, cookie_secret: str | None = None) -> str:
        """The `[auth]` section of a secrets.toml for an app on `app_port`, as TOML text."""
        cookie = cookie_secret or secrets.token_hex(32)
        return (
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
            f'cookie_secret = "{cookie}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{self.metadata_url}"\n'
        )


@pytest.fixture
def fake_oidc() -> Iterator[FakeOIDC]:
    """A running FakeOIDC knowing Alice and Bob; registered for every test module by conftest."""
    with FakeOIDC() as provider:
        yield provider


# --- server internals ----------------------------------------------------------------------------


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Handler(RecordingHandler):
    server: Any  # RecordingServer whose state is a _State

    @property
    def state(self) -> _State:
        return self.server.state

    def do_GET(self) -> None:
        self.read_and_record()
        path, _, query = self.path.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/authorize": self._authorize_page,
            "/authorize/choose": self._choose,
            "/jwks": self._jwks,
            "/userinfo": self._userinfo,
        }
        route = routes.get(path)
        if route is None:
            return self._json(404, {"error": "not_found"})
        route(params)

    def do_POST(self) -> None:
        body = self.read_and_record()
        if self.path.split("?", 1)[0] != "/token":
            return self._json(404, {"error": "not_found"})
        form = {k: v[0] for k, v in parse_qs(body if isinstance(body, str) else "").items()}
        self._token(form)

    # --- endpoints ---

    def _discovery(self, _params: dict[str, str]) -> None:
        issuer = self.state.issuer
        self._json(
            200,
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
            },
        )

    def _authorize_page(self, params: dict[str, str]) -> None:
        """The sign-in form: one button per user, carrying the request's parameters along."""
        if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
            return self._html(400, "<p>Unknown client or response type.</p>")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        buttons = "".join(
            f'<button type="submit" name="user" value="{html.escape(u.sub)}">'
            f"Sign in as {html.escape(u.name)}</button>"
            for u in self.state.users.values()
        )
        self._html(
            200, f'<h1>Fake OIDC</h1><form action="/authorize/choose">{hidden}{buttons}</form>'
        )

    def _choose(self, params: dict[str, str]) -> None:
        user = self.state.users.get(params.get("user", ""))
        redirect_uri = params.get("redirect_uri", "")
        if user is None or not redirect_uri or params.get("client_id") != CLIENT_ID:
            return self._html(400, "<p>Unknown user, client or redirect URI.</p>")
        code = secrets.token_urlsafe(16)
        with self.state.changed:
            self.state.grants[code] = _Grant(
                user,
                CLIENT_ID,
                redirect_uri,
                params.get("nonce"),
                params.get("code_challenge"),
                params.get("code_challenge_method"),
            )
        answer = {"code": code}
        if "state" in params:
            answer["state"] = params["state"]
        separator = "&" if urlsplit(redirect_uri).query else "?"
        self._redirect(f"{redirect_uri}{separator}{urlencode(answer)}")

    def _token(self, form: dict[str, str]) -> None:
        client_id, client_secret = self._client_credentials(form)
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return self._json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code":
            return self._json(400, {"error": "unsupported_grant_type"})
        with self.state.changed:
            grant = self.state.grants.pop(form.get("code", ""), None)
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return self._json(400, {"error": "invalid_grant"})
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            if grant.method != "S256" or _s256(verifier) != grant.challenge:
                return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
        now = int(time.time())
        claims = {
            **grant.user.claims,
            "iss": self.state.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 3600,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, self.state.key)
        access_token = secrets.token_urlsafe(16)
        with self.state.changed:
            self.state.access_tokens[access_token] = grant.user
            self.state.logins.append(grant.user.sub)
            self.state.changed.notify_all()
        self._json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": id_token,
                "scope": "openid email profile",
            },
        )

    def _jwks(self, _params: dict[str, str]) -> None:
        self._json(200, {"keys": [self.state.key.as_dict(private=False)]})

    def _userinfo(self, _params: dict[str, str]) -> None:
        token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        with self.state.changed:
            user = self.state.access_tokens.get(token)
        if user is None:
            return self._json(401, {"error": "invalid_token"})
        self._json(200, user.claims)

    # --- helpers ---

    def _client_credentials(self, form: dict[str, str]) -> tuple[str | None, str | None]:
        """client_secret_basic (Authlib's default) or client_secret_post."""
        header = self.headers.get("authorization") or ""
        if header.startswith("Basic "):
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
            client_id, _, client_secret = decoded.partition(":")
            return client_id, client_secret
        return form.get("client_id"), form.get("client_secret")

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _html(self, status: int, body: str) -> None:
        self._send(status, "text/html; charset=utf-8", f"<!doctype html>{body}".encode())

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("location", location)
        self.send_header("content-length", "0")
        self.end_headers()

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(data)
