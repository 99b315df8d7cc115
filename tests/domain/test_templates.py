import dataclasses
from typing import Any

import pytest

from hub.domain.templates import (
    PLACEHOLDER_RE,
    RenderedMessage,
    TemplateSpec,
    choose_locale,
    placeholders,
    render,
    render_for_contact,
    validate_template,
)
from hub.errors import InvalidRequest, MissingPlaceholder

# -- placeholders -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("Hello", []),
        ("Hi {{name}}", ["name"]),
        ("Hi {{ name }}", ["name"]),
        ("Hi {{   name\t}}", ["name"]),
        ("{{a}} {{b}} {{a}} {{c}} {{b}}", ["a", "b", "c"]),
        ("{{ b }} then {{a}}", ["b", "a"]),
        ("Case {{CaseName}} for {{CustomerName}}", ["CaseName", "CustomerName"]),
        ("{{order.id}} {{due-date}} {{x_1}} {{1}}", ["order.id", "due-date", "x_1", "1"]),
        ("{{first name}}", []),  # space inside a name: not a placeholder
        ("{{}} {{ }}", []),
        ("{name} {{{x}}}", ["x"]),
        ("{{ a }}{{b}}", ["a", "b"]),
    ],
)
def test_placeholders(body, names):
    assert placeholders(body) == names


@pytest.mark.parametrize("text", ["{{a}}", "{{ a }}", "{{a.b-c_d9}}"])
def test_placeholder_re_matches_whole_token(text):
    match = PLACEHOLDER_RE.fullmatch(text)
    assert match is not None
    assert match.group(1) == text.strip("{} ")


# -- choose_locale ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "requested", "default", "expected"),
    [
        (["en", "fr"], "fr", "en", "fr"),
        (["en", "fr"], "FR", "en", "fr"),
        (["en-US", "fr"], "en-us", "fr", "en-US"),
        (["en_US", "fr"], "en-US", "fr", "en_US"),
        (["en-US", "fr"], "en_us", "fr", "en-US"),
        (["en", "fr"], " fr ", "en", "fr"),
        # same language: bare language preferred
        (["zh", "zh-TW", "en"], "zh-HK", "en", "zh"),
        (["zh-TW", "en"], "zh-HK", "en", "zh-TW"),
        (["zh-TW", "zh-CN", "en"], "zh-HK", "en", "zh-CN"),  # first in sorted order
        (["zh-TW", "zh-CN", "en"], "zh", "en", "zh-CN"),
        (["pt-BR", "pt-PT", "en"], "pt", "en", "pt-BR"),
        (["es-MX", "en"], "es-ES", "en", "es-MX"),
        (["en-GB", "en-US"], "en-AU", "fr", "en-GB"),
        (["en", "en-GB"], "en-gb", "fr", "en-GB"),  # exact beats bare language
        # fallback to default
        (["en", "fr"], "de", "en", "en"),
        (["en", "fr"], None, "fr", "fr"),
        (["en", "fr"], "", "fr", "fr"),
        (["en", "fr"], "   ", "fr", "fr"),
        (["EN", "fr"], "de", "en", "EN"),  # default spelled as in available
        (["en-US", "fr"], None, "en", "en-US"),  # default resolved like a request
        (["fr"], "de", "en", "en"),  # nothing fits: default unchanged
        ([], "de", "en", "en"),
        # "english" is not "en": the language subtag must match exactly
        (["en"], "eng", "fr", "fr"),
    ],
)
def test_choose_locale(available, requested, default, expected):
    assert choose_locale(available, requested, default) == expected


@pytest.mark.parametrize(
    "order", [["zh-TW", "zh-CN", "zh-SG"], ["zh-SG", "zh-CN", "zh-TW"], ["zh-CN", "zh-TW", "zh-SG"]]
)
def test_choose_locale_is_independent_of_input_order(order):
    assert choose_locale(order, "zh-HK", "en") == "zh-CN"


def test_choose_locale_accepts_any_iterable():
    assert choose_locale({"en": "x", "de": "y"}.keys(), "de-AT", "en") == "de"
    assert choose_locale(iter(["en", "de"]), "de", "en") == "de"


# -- render -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "values", "expected"),
    [
        ("Hello", {}, "Hello"),
        ("Hello", {"unused": "x"}, "Hello"),
        ("Hi {{name}}!", {"name": "Ana"}, "Hi Ana!"),
        ("Hi {{ name }}!", {"name": "Ana"}, "Hi Ana!"),
        ("{{a}}-{{a}}", {"a": "x"}, "x-x"),
        ("{{n}} items, paid: {{p}}, total {{t}}", {"n": 3, "p": True, "t": 9.5}, "3 items, paid: True, total 9.5"),
        ("zero: {{z}}", {"z": 0}, "zero: 0"),
        ("off: {{f}}", {"f": False}, "off: False"),
        ("Hi {{a}}", {"a": "{{b}}", "b": "nope"}, "Hi {{b}}"),  # inserted literally
        ("Hi {{a}}", {"a": r"\1 \g<0>"}, r"Hi \1 \g<0>"),  # no regex escapes in replacement
        ("Order {{order.id}}", {"order.id": "A-1"}, "Order A-1"),
        ("¡Hola {{name}}! 👋", {"name": "Zoë"}, "¡Hola Zoë! 👋"),
        ("{first} {{x}}", {"x": "y"}, "{first} y"),
    ],
)
def test_render(body, values, expected):
    assert render(body, values) == expected


@pytest.mark.parametrize(
    ("body", "values", "missing"),
    [
        ("Hi {{name}}", {}, ["name"]),
        ("Hi {{name}}", {"name": None}, ["name"]),
        ("Hi {{name}}", {"name": ""}, ["name"]),
        ("Hi {{name}}", {"name": "   "}, ["name"]),
        ("{{b}} {{a}} {{c}} {{b}}", {"a": "ok"}, ["b", "c"]),
        ("{{a}} {{b}} {{c}}", {"b": None, "c": ""}, ["a", "b", "c"]),
        ("Hi {{Name}}", {"name": "case matters"}, ["Name"]),
    ],
)
def test_render_lists_every_missing_placeholder(body, values, missing):
    with pytest.raises(MissingPlaceholder) as info:
        render(body, values)
    assert info.value.code == "missing_placeholder"
    assert info.value.details == {"missing": missing}
    for name in missing:
        assert name in info.value.message


# -- validate_template ------------------------------------------------------------

_DROP = object()  # marks a key to leave out of the payload


def valid_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "appointment_reminder",
        "channel_types": ["sms", "whatsapp"],
        "default_locale": "en",
        "bodies": {"en": "Hi {{CustomerName}}, about {{CaseName}}", "es-MX": "Hola {{CustomerName}}"},
        "content_sids": {"en": "HX" + "0" * 32},
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not _DROP}


def test_validate_template_returns_spec():
    spec = validate_template(valid_payload())
    assert spec == TemplateSpec(
        name="appointment_reminder",
        channel_types=("sms", "whatsapp"),
        default_locale="en",
        bodies={"en": "Hi {{CustomerName}}, about {{CaseName}}", "es-MX": "Hola {{CustomerName}}"},
        content_sids={"en": "HX" + "0" * 32},
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]


def test_validate_template_copies_input():
    payload = valid_payload()
    spec = validate_template(payload)
    payload["bodies"]["fr"] = "Bonjour"
    payload["content_sids"].clear()
    assert "fr" not in spec.bodies
    assert spec.content_sids


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"content_sids": _DROP}, lambda s: s.content_sids == {}),
        ({"content_sids": None}, lambda s: s.content_sids == {}),
        ({"content_sids": {}}, lambda s: s.content_sids == {}),
        ({"channel_types": ["whatsapp"]}, lambda s: s.channel_types == ("whatsapp",)),
        ({"channel_types": ["SMS", " WhatsApp "]}, lambda s: s.channel_types == ("sms", "whatsapp")),
        ({"name": "  padded  "}, lambda s: s.name == "padded"),
        ({"name": "x" * 200}, lambda s: len(s.name) == 200),
        ({"default_locale": "EN"}, lambda s: s.default_locale == "EN" and "en" in s.bodies),
        (
            {"default_locale": "en_US", "bodies": {"en-us": "Hi"}, "content_sids": _DROP},
            lambda s: s.bodies == {"en-us": "Hi"},
        ),
        ({"bodies": {"en": "x" * 1600}, "content_sids": _DROP}, lambda s: len(s.bodies["en"]) == 1600),
        ({"bodies": {"en": "Plain {text} only"}, "content_sids": _DROP}, lambda s: True),
        ({"bodies": {"en": "Hi", "zh-Hant-TW": "你好"}, "content_sids": _DROP}, lambda s: "zh-Hant-TW" in s.bodies),
        ({"content_sids": {"EN": "HXabc"}}, lambda s: s.content_sids == {"EN": "HXabc"}),
        ({"extra": "ignored"}, lambda s: not hasattr(s, "extra")),
    ],
)
def test_validate_template_accepts(changes, check):
    assert check(validate_template(valid_payload(**changes)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": _DROP}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"channel_types": _DROP}, "channel_types"),
        ({"channel_types": []}, "channel_types"),
        ({"channel_types": "sms"}, "channel_types"),
        ({"channel_types": ["sms", "email"]}, "channel_types"),
        ({"channel_types": ["sms", "sms"]}, "channel_types"),
        ({"channel_types": ["sms", "SMS"]}, "channel_types"),
        ({"channel_types": [None]}, "channel_types"),
        ({"default_locale": _DROP}, "default_locale"),
        ({"default_locale": ""}, "default_locale"),
        ({"default_locale": "english"}, "default_locale"),
        ({"default_locale": "e"}, "default_locale"),
        ({"default_locale": "en-"}, "default_locale"),
        ({"default_locale": "en US"}, "default_locale"),
        ({"default_locale": 1}, "default_locale"),
        ({"default_locale": "fr"}, "default_locale"),  # no body for it
        ({"bodies": _DROP}, "bodies"),
        ({"bodies": {}}, "bodies"),
        ({"bodies": ["en", "Hi"]}, "bodies"),
        ({"bodies": {"en": ""}}, "bodies"),
        ({"bodies": {"en": "   "}}, "bodies"),
        ({"bodies": {"en": None}}, "bodies"),
        ({"bodies": {"en": "x" * 1601}}, "bodies"),
        ({"bodies": {"en": "Hi", "not a tag": "x"}}, "bodies"),
        ({"bodies": {"en": "Hi", "en-US": "a", "en_us": "b"}}, "bodies"),  # same locale twice
        ({"bodies": {"en": "Hi {{first name}}"}}, "bodies"),  # malformed placeholder
        ({"bodies": {"en": "Hi {{name"}}, "bodies"),
        ({"bodies": {"en": "Hi name}}"}}, "bodies"),
        ({"content_sids": []}, "content_sids"),
        ({"content_sids": "HX1"}, "content_sids"),
        ({"content_sids": {"en": "MG123"}}, "content_sids"),
        ({"content_sids": {"en": "hx123"}}, "content_sids"),
        ({"content_sids": {"en": None}}, "content_sids"),
        ({"content_sids": {"fr": "HX123"}}, "content_sids"),  # no body for that locale
        ({"content_sids": {"??": "HX123"}}, "content_sids"),
    ],
)
def test_validate_template_rejects(changes, field):
    with pytest.raises(InvalidRequest) as info:
        validate_template(valid_payload(**changes))
    assert info.value.code == "invalid_request"
    assert info.value.details == {"field": field}
    assert info.value.message


@pytest.mark.parametrize("data", [None, [], "template", 3])
def test_validate_template_rejects_non_objects(data):
    with pytest.raises(InvalidRequest) as info:
        validate_template(data)
    assert info.value.details == {"field": "body"}


# -- render_for_contact -----------------------------------------------------------

SPEC = TemplateSpec(
    name="reminder",
    channel_types=("sms", "whatsapp"),
    default_locale="en",
    bodies={
        "en": "Hi {{CustomerName}}, case {{CaseName}} is due {{ due }}. {{CustomerName}}, reply STOP to opt out.",
        "es-MX": "Hola {{CustomerName}}, caso {{CaseName}}",
        "zh-TW": "你好 {{CustomerName}}",
    },
    content_sids={"EN": "HXen", "es-MX": "HXes"},
)
VALUES = {"CustomerName": "Ana", "CaseName": "CAS-1", "due": 5, "unused": "x"}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            None,
            RenderedMessage(
                locale="en",
                body="Hi Ana, case CAS-1 is due 5. Ana, reply STOP to opt out.",
                content_sid="HXen",
                content_variables={"1": "Ana", "2": "CAS-1", "3": "5"},
            ),
        ),
        (
            "es",
            RenderedMessage(
                locale="es-MX",
                body="Hola Ana, caso CAS-1",
                content_sid="HXes",
                content_variables={"1": "Ana", "2": "CAS-1"},
            ),
        ),
        (
            "zh-HK",
            RenderedMessage(locale="zh-TW", body="你好 Ana", content_sid=None, content_variables={}),
        ),
        (
            "de",
            RenderedMessage(
                locale="en",
                body="Hi Ana, case CAS-1 is due 5. Ana, reply STOP to opt out.",
                content_sid="HXen",
                content_variables={"1": "Ana", "2": "CAS-1", "3": "5"},
            ),
        ),
    ],
)
def test_render_for_contact(locale, expected):
    assert render_for_contact(SPEC, locale, VALUES) == expected


def test_render_for_contact_without_content_sids():
    spec = dataclasses.replace(SPEC, content_sids={})
    rendered = render_for_contact(spec, "en", VALUES)
    assert rendered.content_sid is None
    assert rendered.content_variables == {}


def test_render_for_contact_missing_value_rejects_contact():
    with pytest.raises(MissingPlaceholder) as info:
        render_for_contact(SPEC, "en", {"CustomerName": "Ana"})
    assert info.value.details == {"missing": ["CaseName", "due"]}


def test_validated_template_renders():
    spec = validate_template(valid_payload(content_sids={"EN": "HXabc"}))
    rendered = render_for_contact(spec, "en-GB", {"CustomerName": "Bo", "CaseName": "C-9"})
    assert rendered == RenderedMessage(
        locale="en", body="Hi Bo, about C-9", content_sid="HXabc", content_variables={"1": "Bo", "2": "C-9"}
    )
