"""The fake OIDC provider is strict where a real one is: the browser test's logins mean something.

Driven by Authlib's own client (what Streamlit uses), then by hand for the refusals: a wrong
client secret, a wrong PKCE verifier and a code used twice are all refused.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.fake_oidc import CLIENT_ID, CLIENT_SECRET

REDIRECT = "http://127.0.0.1:9/oauth2callback"


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """One GET that does not follow redirects: (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def session(secret: str = CLIENT_SECRET) -> OAuth2Session:
    return OAuth2Session(
        CLIENT_ID,
        secret,
        scope="openid email profile",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )


def sign_in(provider, client: OAuth2Session, verifier: str, who: str = "alice") -> str:
    """Authorize as `who` through the provider's form; the callback URL it redirects to."""
    url, _state = client.create_authorization_url(
        f"{provider.url}/authorize", nonce="n-123", code_verifier=verifier
    )
    status, _, page = get(url)
    assert status == 200 and b"Sign in as Alice Example" in page
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    status, headers, _ = get(
        f"{provider.url}/authorize/choose?{urlencode({**params, 'user': who})}"
    )
    assert status == 302
    return headers["location"]


def test_authlib_client_gets_a_verifiable_id_token_with_the_nonce(fake_oidc):
    _, _, discovery = get(fake_oidc.metadata_url)
    assert json.loads(discovery)["issuer"] == fake_oidc.url
    client = session()
    verifier = "v" * 64
    callback = sign_in(fake_oidc, client, verifier, "bob")
    token = client.fetch_token(
        f"{fake_oidc.url}/token", authorization_response=callback, code_verifier=verifier
    )
    _, _, jwks = get(f"{fake_oidc.url}/jwks")
    claims = jwt.decode(token["id_token"], KeySet.import_key_set(json.loads(jwks))).claims
    assert claims["sub"] == "bob" and claims["nonce"] == "n-123" and claims["aud"] == CLIENT_ID
    assert claims["iss"] == fake_oidc.url
    assert client.get(f"{fake_oidc.url}/userinfo").json()["name"] == "Bob Example"
    assert fake_oidc.logins == ["bob"]


@pytest.mark.parametrize("fault", ["secret", "verifier", "reuse"])
def test_the_token_endpoint_refuses_what_a_real_provider_refuses(fake_oidc, fault):
    client = session("wrong" if fault == "secret" else CLIENT_SECRET)
    verifier = "v" * 64
    callback = sign_in(fake_oidc, client, verifier)
    if fault == "reuse":
        client.fetch_token(
            f"{fake_oidc.url}/token", authorization_response=callback, code_verifier=verifier
        )
    with pytest.raises(OAuthError, match="invalid_client|invalid_grant"):
        client.fetch_token(
            f"{fake_oidc.url}/token",
            authorization_response=callback,
            code_verifier="w" * 64 if fault == "verifier" else verifier,
        )
    assert fake_oidc.logins == (["alice"] if fault == "reuse" else [])
