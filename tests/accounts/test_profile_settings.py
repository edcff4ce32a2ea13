"""Editing the name and avatar on /settings/ (SPEC §3, §10)."""

import pytest

PAGE = "/settings/"


@pytest.mark.django_db
def test_it_saves_the_name_and_avatar(client, alice):
    client.force_login(alice)

    response = client.post(
        PAGE, {"full_name": "  Alice Liddell ", "avatar_url": "https://example.com/a.png"}
    )

    assert response.status_code == 302
    assert response["Location"] == PAGE
    alice.refresh_from_db()
    assert alice.full_name == "Alice Liddell"
    assert alice.avatar_url == "https://example.com/a.png"
    assert "Your profile has been saved." in client.get(PAGE).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "full_name, message",
    [
        ("", "Enter your name so we know what to call you."),
        ("   ", "Enter your name so we know what to call you."),
        ("x" * 151, "Your name can be at most 150 characters."),
    ],
)
def test_it_refuses_an_empty_or_too_long_name_and_changes_nothing(
    client, alice, full_name, message
):
    client.force_login(alice)

    response = client.post(PAGE, {"full_name": full_name, "avatar_url": "https://x.example/b.png"})

    assert response.status_code == 200
    assert message in response.content.decode()
    alice.refresh_from_db()
    assert alice.full_name == "Alice Owner"
    assert alice.avatar_url == ""


@pytest.mark.django_db
def test_it_accepts_a_name_of_exactly_150_characters(client, alice):
    client.force_login(alice)

    client.post(PAGE, {"full_name": "y" * 150, "avatar_url": ""})

    alice.refresh_from_db()
    assert alice.full_name == "y" * 150


@pytest.mark.django_db
@pytest.mark.parametrize(
    "avatar_url", ["javascript:alert(1)", "not a url", "ftp://x.example/a.png"]
)
def test_it_refuses_an_avatar_that_is_not_a_web_address(client, alice, avatar_url):
    client.force_login(alice)

    response = client.post(PAGE, {"full_name": "Alice", "avatar_url": avatar_url})

    assert response.status_code == 200
    assert "Enter a full web address" in response.content.decode()
    alice.refresh_from_db()
    assert alice.full_name == "Alice Owner"


@pytest.mark.django_db
def test_it_escapes_html_in_the_name(client, alice):
    client.force_login(alice)
    client.post(PAGE, {"full_name": "<script>alert('x')</script>", "avatar_url": ""})

    page = client.get(PAGE).content.decode()

    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


@pytest.mark.django_db
def test_it_requires_login(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
