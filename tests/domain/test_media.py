"""Attachments on an agent's reply: which URLs, how many, on which channel."""

from __future__ import annotations

import pytest

from hub.domain.media import (
    InvalidMediaUrl,
    MediaUnsupported,
    check_channel_media,
    check_media,
    check_media_url,
    content_type_of,
    media_items,
    media_refusal,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/photo.jpg",
        "https://cdn.example.com:8443/a/b/invoice.pdf",
        "https://bucket.s3.amazonaws.com/x.png?X-Amz-Signature=abc&X-Amz-Expires=300",  # signed: a query
        "https://8.8.8.8/p.gif",
        "https://[2606:4700::1]/p.gif",
        "HTTPS://Example.com/Photo.JPG",
    ],
)
def test_accepted(url: str) -> None:
    assert check_media_url(url) == url


@pytest.mark.parametrize(
    "url, reason",
    [
        (None, "https URLs"),
        ("", "https URLs"),
        (42, "https URLs"),
        ("http://example.com/photo.jpg", "must be https"),
        ("ftp://example.com/photo.jpg", "must be https"),
        ("javascript:alert(1)", "must be https"),
        ("data:image/png;base64,AAAA", "must be https"),
        ("https://", "must be https"),
        ("/relative/photo.jpg", "must be https"),
        ("https://user:secret@example.com/p.jpg", "user name"),
        ("https://example.com/p.jpg#frag", "fragment"),
        ("https://example.com:0/p.jpg", "invalid port"),
        ("https://example.com:99999/p.jpg", "invalid port"),
        ("https://127.0.0.1/p.jpg", "loopback"),
        ("https://10.0.0.5/p.jpg", "private"),
        ("https://192.168.1.1/p.jpg", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/p.jpg", "loopback"),
        ("https://[::ffff:127.0.0.1]/p.jpg", "loopback"),
        ("https://[64:ff9b::a00:1]/p.jpg", "loopback"),  # NAT64 of 10.0.0.1
        ("https://localhost/p.jpg", "loopback"),
        ("https://media.localhost/p.jpg", "loopback"),
        ("https://2130706433/p.jpg", "four decimal numbers"),
        ("https://0x7f.1/p.jpg", "four decimal numbers"),
        ("https://exa mple.com/p.jpg", "spaces"),
        ("https://example.com\\@evil.test/p.jpg", "backslashes"),
        ("https://exämple.com/p.jpg", "punycode"),
        ("https://example.com/p.jpg\r\nX: y", "control characters"),
        ("https://ex_ample-.com/p.jpg", "invalid host name"),
        ("https://example.com/" + "a" * 2048, "at most 2048"),
    ],
)
def test_refused(url: object, reason: str) -> None:
    with pytest.raises(InvalidMediaUrl) as caught:
        check_media_url(url)
    assert reason in caught.value.message
    assert caught.value.code == "invalid_media_url"
    assert caught.value.details == {"field": "media"}


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ()),
        (["https://example.com/a.jpg"], ("https://example.com/a.jpg",)),
        ([f"https://example.com/{i}.jpg" for i in range(10)], tuple(f"https://example.com/{i}.jpg" for i in range(10))),
    ],
)
def test_media_lists(value: object, expected: tuple[str, ...]) -> None:
    assert check_media(value) == expected


@pytest.mark.parametrize(
    "value, reason",
    [
        ([], "1 to 10"),
        ("https://example.com/a.jpg", "1 to 10"),  # a string, not a list
        ({"url": "https://example.com/a.jpg"}, "1 to 10"),
        ([f"https://example.com/{i}.jpg" for i in range(11)], "at most 10"),
        (["https://example.com/a.jpg", "http://example.com/b.jpg"], "must be https"),
        ([["https://example.com/a.jpg"]], "https URLs"),
    ],
)
def test_bad_media_lists(value: object, reason: str) -> None:
    with pytest.raises(InvalidMediaUrl) as caught:
        check_media(value)
    assert reason in caught.value.message


@pytest.mark.parametrize(
    "provider, channel_type, count, refused",
    [
        ("twilio", "sms", 0, None),
        ("twilio", "sms", 1, None),
        ("twilio", "sms", 10, None),  # MMS
        ("twilio", "whatsapp", 1, None),
        ("twilio", "whatsapp", 2, "one attachment"),
        ("sandbox", "sms", 3, None),  # the simulated Twilio
        ("sandbox", "whatsapp", 2, "one attachment"),
        ("telesign", "sms", 1, "TeleSign channels send text only"),
        ("telesign", "sms", 0, None),
        ("", "sms", 1, "no longer exists"),  # a channel deleted meanwhile
    ],
)
def test_channel_rules(provider: str, channel_type: str, count: int, refused: str | None) -> None:
    reason = media_refusal(provider, channel_type, count)
    if refused is None:
        assert reason is None
        check_channel_media(provider, channel_type, count)
    else:
        assert reason is not None and refused in reason
        with pytest.raises(MediaUnsupported) as caught:
            check_channel_media(provider, channel_type, count)
        assert caught.value.code == "media_unsupported"
        assert caught.value.details == {"field": "media"}


@pytest.mark.parametrize(
    "url, content_type",
    [
        ("https://example.com/photo.jpg", "image/jpeg"),
        ("https://example.com/Photo.JPEG?sig=1", "image/jpeg"),
        ("https://example.com/a.png", "image/png"),
        ("https://example.com/invoice.pdf", "application/pdf"),
        ("https://example.com/download?file=a.pdf", ""),  # the query names nothing
        ("https://example.com/media/12345", ""),
        ("https://example.com/archive.tar.zst", ""),
    ],
)
def test_content_type(url: str, content_type: str) -> None:
    assert content_type_of(url) == content_type


def test_media_items() -> None:
    assert media_items(("https://example.com/a.png", "https://example.com/b")) == [
        {"url": "https://example.com/a.png", "content_type": "image/png"},
        {"url": "https://example.com/b", "content_type": ""},
    ]
