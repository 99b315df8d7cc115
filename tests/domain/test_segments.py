import pytest

from hub.domain.segments import GSM_7, UCS_2, count_segments


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("Hi Ada, your order 1234 is on its way.", GSM_7, 1),
        ("a" * 160, GSM_7, 1),
        ("a" * 161, GSM_7, 2),
        ("a" * 306, GSM_7, 2),
        ("a" * 307, GSM_7, 3),
        # The extension table costs two septets: 80 euros fill one segment.
        ("€" * 80, GSM_7, 1),
        ("€" * 81, GSM_7, 2),
        # ... and is never split: 152 septets, then a 2-septet character
        # opens the second segment instead of straddling it.
        ("a" * 152 + "{" + "a" * 151, GSM_7, 2),
        ("a" * 152 + "{" + "a" * 152, GSM_7, 3),
        # The accented letters of the GSM alphabet stay GSM-7; others do not.
        ("Votre rendez-vous: mardi à 9h, né à Besancon", GSM_7, 1),
        ("Olá, você está aí?", UCS_2, 1),
        ("x" * 70 + "’", UCS_2, 2),
        ("’" * 70, UCS_2, 1),
        ("’" * 71, UCS_2, 2),
        ("’" * 134, UCS_2, 2),
        ("’" * 135, UCS_2, 3),
        # A surrogate pair is two code units, and is not split either.
        ("😀" * 35, UCS_2, 1),
        ("😀" * 36, UCS_2, 2),
        ("a" * 66 + "😀" + "a" * 65, UCS_2, 2),
        ("a" * 66 + "😀" + "a" * 66, UCS_2, 3),
        ("您好，您的包裹已送達。", UCS_2, 1),
    ],
)
def test_encoding_and_segments(body: str, encoding: str, segments: int) -> None:
    counted = count_segments(body)
    assert (counted.encoding, counted.segments) == (encoding, segments)


def test_the_characters_that_force_ucs2_are_named_once_in_order() -> None:
    counted = count_segments("Don’t miss it — it’s ready ✓")
    assert counted.ucs2_characters == ("’", "—", "✓")
    assert counted.characters == len("Don’t miss it — it’s ready ✓")


def test_a_gsm_body_names_no_character() -> None:
    assert count_segments("Price: 10€ [VAT incl.] ~ ok").ucs2_characters == ()
