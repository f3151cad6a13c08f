"""web.security: signed tokens, admin cookies, rate limits."""

from __future__ import annotations

from synapse_ai.web.security import RateLimiter, Signer, check_admin_token


def test_csrf_token_is_bound_to_client_and_secret():
    signer = Signer("k1")
    token = signer.csrf_token("client-a")
    assert signer.check_csrf("client-a", token)
    assert not signer.check_csrf("client-b", token)
    assert not signer.check_csrf("client-a", "")
    assert not signer.check_csrf("", token)
    assert not Signer("k2").check_csrf("client-a", token)


def test_purposes_do_not_mix():
    signer = Signer("k")
    assert not signer.verify("admin", "x", signer.sign("csrf", "x"))


def test_random_secret_when_none_configured():
    assert Signer(None).csrf_token("c") != Signer(None).csrf_token("c")


def test_admin_cookie_expires_and_dies_with_the_token():
    signer = Signer("k")
    cookie = signer.admin_cookie("token-1", now=1000)
    assert signer.check_admin_cookie("token-1", cookie, now=1001)
    assert not signer.check_admin_cookie("token-2", cookie, now=1001)
    assert not signer.check_admin_cookie("token-1", cookie, now=10**9)
    expires, sig = cookie.split(".")
    assert not signer.check_admin_cookie("token-1", f"{int(expires) + 999}.{sig}", now=1001)
    assert not signer.check_admin_cookie("token-1", "garbage", now=1001)


def test_admin_token_check():
    assert check_admin_token("abc", "abc")
    assert not check_admin_token("abc", "abd")
    assert not check_admin_token(None, "abc")
    assert not check_admin_token("abc", "")


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert limiter.hit("ip") == 0 and limiter.hit("ip") == 0
    assert limiter.hit("ip") == 10
    assert limiter.retry_after("other") == 0
    now[0] = 5
    assert limiter.retry_after("ip") == 5
    now[0] = 10.5
    assert limiter.retry_after("ip") == 0
    limiter.record("ip")
    assert limiter.retry_after("ip") == 0
    limiter.record("ip")
    assert limiter.retry_after("ip") == 10
