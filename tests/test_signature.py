"""Twilio's request signature, against the vector from the twilio library's own tests."""

from __future__ import annotations

import pytest

from hub.providers.twilio import verify_signature

FIELDS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize(
    "token, url, fields, signature, valid",
    [
        ("12345", URL, FIELDS, SIGNATURE, True),
        ("12345", URL.replace("https://", "http://"), FIELDS, SIGNATURE, False),
        ("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", FIELDS, SIGNATURE, True),
        ("54321", URL, FIELDS, SIGNATURE, False),
        ("12345", URL, {**FIELDS, "Digits": "1235"}, SIGNATURE, False),
        ("12345", URL, FIELDS, "", False),
    ],
)
def test_signature(token: str, url: str, fields: dict[str, str], signature: str, valid: bool) -> None:
    assert verify_signature(token, url, fields, signature) is valid
