"""Visitor spaces: tokens, owners that cannot open a space, and the sweep that expires them."""

from __future__ import annotations

import pytest

from agent.protocol import LOCAL_USER, User
from agent.visitor_tokens import is_visitor, new_token, valid_token, visitor_owner
from agent.visitors import VisitorSweep
from tests.engine_fixtures import make_harness

HOUR = 3600.0


@pytest.fixture
def h(data_dir):
    harness = make_harness(data_dir, "sync")
    yield harness
    harness.backend.close()


def test_tokens_are_random_and_owners_do_not_reveal_them():
    first, second = new_token(), new_token()
    assert first != second and valid_token(first) and valid_token(second)
    for bad in (None, "", "short", first + "x", "a" * 31 + "!", 42):
        assert not valid_token(bad)
    owner = visitor_owner(first)
    assert is_visitor(owner) and first not in owner and owner == visitor_owner(first)
    assert visitor_owner(second) != owner
    assert not is_visitor(LOCAL_USER.id) and not is_visitor("oidc:x|visitor:")


def test_the_sweep_deletes_only_expired_visitor_threads(h):
    now = [0.0]
    old = User(id=visitor_owner(new_token()), name="Visitor", kind="visitor")
    fresh = User(id=visitor_owner(new_token()), name="Visitor", kind="visitor")
    account = User(id="oidc:https://id.example|carol", name="Carol")
    expired = h.backend.create_thread(old, "old visitor thread")
    kept_local = h.backend.create_thread(LOCAL_USER, "local thread")
    kept_account = h.backend.create_thread(account, "account thread")
    created = h.backend.get_thread(old, expired.id).created_at
    recent = h.backend.create_thread(fresh, "fresh visitor thread")
    h.backend.threads._update(recent.id, created_at=created + 2 * HOUR)
    now[0] = created + 2.5 * HOUR  # the first is 2.5 h old, the second half an hour
    sweep = VisitorSweep(hours=1, every=600, clock=lambda: now[0])
    assert sweep.maybe_run(h.backend) == 1
    assert h.backend.find_thread(old, expired.id) is None
    assert h.backend.find_thread(fresh, recent.id) is not None
    assert h.backend.find_thread(LOCAL_USER, kept_local.id) is not None
    assert h.backend.find_thread(account, kept_account.id) is not None
    now[0] += 3 * HOUR  # the second has expired too: the next sweep takes it
    assert sweep.maybe_run(h.backend) == 1
    now[0] += 5 * 60
    assert sweep.maybe_run(h.backend) == 0  # within 10 minutes of the last sweep: not asked
    assert h.backend.count_threads(fresh) == 0
