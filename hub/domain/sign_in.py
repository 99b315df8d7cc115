"""Agents' sign-in rules (pure): password strength and the failure budgets
that throttle guessing.

Failures are counted in three fixed windows, each starting at its first
failure. The tight one is per email *and* client address, so that whoever
guesses at an agent's password from one address locks out only that address
for that email, and the agent signing in from elsewhere is not held up. The
per-email budget stops guessing spread over many addresses; the per-address
budget stops one address trying many emails (and is large, since a contact
centre's agents often share one address). A lock lasts at most its window.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from hub.errors import InvalidRequest

MIN_PASSWORD = 10
MAX_PASSWORD = 256

# The most common passwords of 10 characters or more (shorter ones are
# refused anyway), from the published breach-frequency lists, lower case.
COMMON_PASSWORDS = frozenset(
    """
1234567890 0123456789 0987654321 9876543210 1111111111 0000000000 1234512345
123456789a 123456789q a123456789 q123456789 1q2w3e4r5t 1q2w3e4r5t6y qwertyuiop
1qaz2wsx3edc qazwsxedcrfv asdfghjkl; zxcvbnm123 qwerty1234 qwerty12345 qwerty123456
password12 password123 password1234 password12345 passw0rd123 p@ssw0rd123
iloveyou12 iloveyou123 abcdefghij abcdefg123 abc1234567 abcd123456 1234567890a
welcome123 welcome1234 letmein123 changeme123 administrator admin12345 admin123456
football123 baseball123 sunshine123 princess123 superman123 batman1234 dragon1234
monkey1234 starwars123 whatever123 trustno1234 michael123 jennifer123 computer123
internet123 helloworld helloworld1 hello12345 hello123456 1qazxsw23edc
qwertyuiop123 zaq12wsxcde 1234qwerasdf asdfghjkl123 asdf123456 qwer123456
correcthorse correcthorsebatterystaple
""".split()
)


def is_text(value: str) -> bool:
    """False for a lone surrogate (``"\\udfff"`` in JSON decodes to one): no
    UTF-8 encoder takes it, so neither Redis nor the password hasher can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def password_problem(password: object, email: str | None = None) -> str | None:
    """Why a new password is refused, or None."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
    if not password.strip():
        return "password must not be only spaces"
    if not is_text(password):
        return "password must be text (a lone surrogate such as \\udfff is not)"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 3:
        return "password is too common; choose another"
    if email and lowered == email.lower():
        return "password must not be the email"
    return None


def check_password(password: object, email: str | None = None) -> str:
    problem = password_problem(password, email)
    if problem:
        raise InvalidRequest(problem, details={"field": "password"})
    assert isinstance(password, str)
    return password


def client_group(host: str | None) -> str:
    """The address failures are counted for: IPv6 by its /64, since anyone
    given one address has the whole /64 to rotate through."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Budget:
    scope: str  # names the key: "pair", "email" or "address"
    subject: str
    limit: int
    window_s: int


@dataclass(frozen=True)
class Limits:
    per_pair: int = 5
    pair_window_s: int = 300
    per_email: int = 20
    email_window_s: int = 900
    per_address: int = 100
    address_window_s: int = 900


def budgets(email: str, address: str, limits: Limits) -> list[Budget]:
    """The budgets one sign-in attempt draws on (emails hashed: no PII in key names)."""
    mail = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    return [
        Budget("pair", f"{mail}:{address}", limits.per_pair, limits.pair_window_s),
        Budget("email", mail, limits.per_email, limits.email_window_s),
        Budget("address", address, limits.per_address, limits.address_window_s),
    ]
