import pytest

from hub.domain.keywords import OPT_OUT_CONFIRMATION, Keyword, classify_keyword, provider_confirms_opt_out

OPT_OUT_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
OPT_IN_WORDS = ["START", "YES", "UNSTOP"]
HELP_WORDS = ["HELP", "INFO"]


def test_keyword_values():
    assert [k.value for k in Keyword] == ["opt_out", "opt_in", "help"]
    assert Keyword("opt_out") is Keyword.OPT_OUT is Keyword.opt_out


@pytest.mark.parametrize(
    ("word", "keyword"),
    [(w, Keyword.OPT_OUT) for w in OPT_OUT_WORDS]
    + [(w, Keyword.OPT_IN) for w in OPT_IN_WORDS]
    + [(w, Keyword.HELP) for w in HELP_WORDS],
)
@pytest.mark.parametrize(
    "variant",
    [str, str.lower, str.title, lambda w: f"  {w}\n", lambda w: f"{w}.", lambda w: f"{w}!!", lambda w: f" {w} ! "],
    ids=["upper", "lower", "title", "padded", "period", "bangs", "spaced-bang"],
)
def test_classify_keyword_variants(word, keyword, variant):
    assert classify_keyword(variant(word)) is keyword


@pytest.mark.parametrize(
    "body",
    [
        None,
        "",
        "   ",
        ".",
        "!!",
        "stop please",
        "please stop",
        "don't stop",
        "STOP STOP",
        "stop all",
        "opt out",
        "opt-out",
        "STOP?",  # only . and ! are trimmed
        "?STOP",
        ".STOP",
        "STOPP",
        "stops",
        "help me",
        "yes please",
        "y",
        "hello",
        "STOP\nthanks",
        3,
    ],
)
def test_classify_keyword_ignores_conversation(body):
    assert classify_keyword(body) is None


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("Stop.", Keyword.OPT_OUT),
        ("\tyes!", Keyword.OPT_IN),
        ("Info.!", Keyword.HELP),
        ("unsubscribe!", Keyword.OPT_OUT),
    ],
)
def test_classify_keyword_examples(body, keyword):
    assert classify_keyword(body) is keyword


def test_only_twilio_sms_answers_stop_itself():
    # Twilio's default opt-out handling confirms on SMS (and refuses later sends
    # with 21610); everywhere else the hub sends the one confirmation.
    assert provider_confirms_opt_out("twilio", "sms")
    assert not provider_confirms_opt_out("twilio", "whatsapp")
    assert not provider_confirms_opt_out("sandbox", "sms")
    assert not provider_confirms_opt_out("telesign", "sms")
    assert "START" in OPT_OUT_CONFIRMATION
