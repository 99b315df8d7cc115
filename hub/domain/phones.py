"""Phone numbers: parsing to E.164, masking for logs, region codes.

Everything the hub stores, compares or sends uses bare E.164 (``+14155552671``);
the ``whatsapp:`` address prefix is a transport detail added by the provider
adapter, so it is stripped here.

Test numbers: validity comes from libphonenumber's metadata, so the usual
fictional ranges are NOT accepted. ``+1555 01XX`` numbers (``+15550001111``)
and UK Ofcom drama numbers (``+447700900123``) fail ``is_valid_number``. The
project's demos and tests use San Francisco numbers, which are valid:
``+14155550100`` .. ``+14155550199`` and ``+14155552671``; other valid samples
are ``+447911123456`` (GB mobile), ``+4915112345678`` (DE) and
``+61412345678`` (AU).
"""

from __future__ import annotations

import phonenumbers

from hub.errors import InvalidPhone

WHATSAPP_PREFIX = "whatsapp:"


def _strip_prefix(value: str) -> str:
    if value[: len(WHATSAPP_PREFIX)].lower() == WHATSAPP_PREFIX:
        return value[len(WHATSAPP_PREFIX) :]
    return value


def normalize_phone(raw: str, default_region: str = "US") -> str:
    """Return ``raw`` as E.164 (without any ``whatsapp:`` prefix).

    A number without a leading ``+`` is read as a national number of
    ``default_region``. Raises ``InvalidPhone`` for anything that is not a
    valid, dialable number; the details carry a ``reason`` but never echo the
    number, since errors end up in logs.
    """
    parsed = _parse(raw, default_region)
    if not is_valid_number(parsed):
        raise InvalidPhone("phone number is not a valid number", details={"reason": "invalid"})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_valid_number(parsed: phonenumbers.PhoneNumber) -> bool:
    """``phonenumbers.is_valid_number``, in half the time for the numbers of a
    country code's main region (US for +1, GB for +44): that function first
    finds the number's region by typing it against each region of its
    country code in turn, then types it again for that region. A number
    valid for the main region, which comes first, is found there, so
    typing it once is enough; any other number takes the full check."""
    main = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    return phonenumbers.is_valid_number_for_region(parsed, main) or phonenumbers.is_valid_number(parsed)


def normalize_sender(raw: str, default_region: str = "US") -> str:
    """Return a sender address (a channel's own number) as E.164.

    Looser than ``normalize_phone``: the provider provisioned the number, so
    libphonenumber's allocation metadata is not the authority here (it rejects
    ``+15550001111``, the spec's own example sender, and numbers in ranges it
    does not know yet). The number only has to have a possible length for its
    country code.
    """
    parsed = _parse(raw, default_region)
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone("phone number is not a possible number", details={"reason": "invalid"})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse(raw: str, default_region: str) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str):
        raise InvalidPhone("phone number must be a string", details={"reason": "not_a_string"})
    text = _strip_prefix(raw.strip()).strip()
    if not text:
        raise InvalidPhone("phone number is empty", details={"reason": "empty"})
    # phonenumbers only knows upper-case region codes; config may be written in either case.
    region = default_region.upper() if isinstance(default_region, str) else None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("phone number could not be parsed", details={"reason": "unparseable"}) from exc
    if parsed.extension:
        # Messages cannot be delivered to an extension; dropping it silently would hit the wrong line.
        raise InvalidPhone("phone number must not have an extension", details={"reason": "extension"})
    return parsed


def mask_phone(e164: str) -> str:
    """Hide a number for info-level logs: ``+14155552671`` -> ``+14*******71``.

    Keeps the ``+`` and the next two characters (enough to see the country)
    and the last two digits (enough to tell numbers apart in a trace). A
    ``whatsapp:`` prefix is kept as is. Input too short to hide at least
    three characters (no real number) is masked entirely.
    """
    prefix = ""
    if e164[: len(WHATSAPP_PREFIX)].lower() == WHATSAPP_PREFIX:
        prefix, e164 = e164[: len(WHATSAPP_PREFIX)], e164[len(WHATSAPP_PREFIX) :]
    if len(e164) < 8:
        return prefix + "*" * len(e164)
    return prefix + e164[:3] + "*" * (len(e164) - 5) + e164[-2:]


def is_valid_region(code: str) -> bool:
    """True for an ISO 3166 alpha-2 code that phonenumbers has metadata for (any case)."""
    return isinstance(code, str) and code.upper() in phonenumbers.SUPPORTED_REGIONS


def time_zones(e164: str) -> tuple[str, ...]:
    """The IANA zones libphonenumber places a number in (by country and, where
    it knows them, area code); ``("Etc/Unknown",)`` when it cannot tell."""
    from phonenumbers import timezone as number_zones  # its zone tables load on first use

    return tuple(number_zones.time_zones_for_number(phonenumbers.parse(e164)))
