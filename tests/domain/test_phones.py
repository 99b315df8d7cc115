import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.phones import is_valid_number, is_valid_region, mask_phone, normalize_phone
from hub.errors import InvalidPhone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+14155552671", "US", "+14155552671"),
        ("+14155550100", "US", "+14155550100"),
        ("+14155550199", "US", "+14155550199"),
        ("  +1 (415) 555-2671  ", "US", "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("4155552671", "us", "+14155552671"),
        ("whatsapp:+14155552671", "US", "+14155552671"),
        ("WhatsApp:+14155552671", "US", "+14155552671"),
        ("whatsapp: +1 415 555 2671", "US", "+14155552671"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "US", "+447911123456"),
        ("011 44 7911 123456", "US", "+447911123456"),
        ("015112345678", "DE", "+4915112345678"),
        ("0412 345 678", "AU", "+61412345678"),
        ("+33 6 12 34 56 78", "US", "+33612345678"),
    ],
)
def test_normalize_phone_returns_e164(raw, region, expected):
    assert normalize_phone(raw, region) == expected


def test_default_region_is_us():
    assert normalize_phone("415 555 2671") == "+14155552671"


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "US", "empty"),
        ("   ", "US", "empty"),
        ("whatsapp:", "US", "empty"),
        ("not a number", "US", "unparseable"),
        ("+", "US", "unparseable"),
        ("4155552671", "XX", "unparseable"),
        ("4155552671", "", "unparseable"),
        ("+15550001111", "US", "invalid"),  # fictional 555-01XX: not valid per libphonenumber
        ("+447700900123", "US", "invalid"),  # Ofcom drama range
        ("+1415555267", "US", "invalid"),  # one digit short
        ("12345", "US", "invalid"),
        ("+999 123456789", "US", "unparseable"),  # no such country code
        ("07911 123456", "US", "invalid"),  # GB national number read as US
        ("+1 415 555 2671 ext. 5", "US", "extension"),
        ("+1" + "4" * 300, "US", "unparseable"),
    ],
)
def test_normalize_phone_rejects(raw, region, reason):
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw, region)
    assert info.value.code == "invalid_phone"
    assert info.value.details == {"reason": reason}


@pytest.mark.parametrize("raw", [None, 14155552671, 4.2, ["+14155552671"], b"+14155552671"])
def test_normalize_phone_rejects_non_strings(raw):
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)
    assert info.value.details == {"reason": "not_a_string"}


def test_invalid_phone_does_not_echo_number():
    with pytest.raises(InvalidPhone) as info:
        normalize_phone("+15550001111")
    assert "5550001111" not in info.value.message
    assert "5550001111" not in str(info.value.details)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+14155552671", "+14*******71"),
        ("+447911123456", "+44********56"),
        ("+4915112345678", "+49*********78"),
        ("+1234567", "+12***67"),
        ("+123456", "*******"),
        ("+12", "***"),
        ("", ""),
        ("whatsapp:+14155552671", "whatsapp:+14*******71"),
    ],
)
def test_mask_phone(e164, masked):
    assert mask_phone(e164) == masked


@pytest.mark.parametrize("e164", ["+14155552671", "+447911123456", "+61412345678"])
def test_mask_phone_keeps_length_and_hides_middle(e164):
    masked = mask_phone(e164)
    assert len(masked) == len(e164)
    assert e164[3:-2] not in masked


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("US", True),
        ("GB", True),
        ("DE", True),
        ("gb", True),
        ("Au", True),
        ("UK", False),  # not ISO 3166 (it is GB)
        ("XX", False),
        ("ZZ", False),
        ("001", False),  # non-geographic entity, not a region
        ("USA", False),
        ("", False),
        (None, False),
        (1, False),
    ],
)
def test_is_valid_region(code, valid):
    assert is_valid_region(code) is valid


COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=3000, deadline=None)
@given(code=st.sampled_from(COUNTRY_CODES), national=st.integers(min_value=10**3, max_value=10**14))
def test_the_quick_validity_check_agrees_with_libphonenumber(code: int, national: int) -> None:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=national)
    assert is_valid_number(number) == phonenumbers.is_valid_number(number)


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_the_quick_validity_check_takes_every_region_s_example_numbers(region: str) -> None:
    # Numbers of regions that share a country code (CA, JE, the Caribbean) included.
    for kind in range(11):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            assert is_valid_number(example) == phonenumbers.is_valid_number(example), (region, kind)
