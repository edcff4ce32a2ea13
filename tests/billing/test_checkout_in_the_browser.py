"""The whole purchase over real HTTP: our page → the stand-in's hosted
Checkout → signed webhooks to our server → credits, as a browser sees it."""

import pytest
import requests
from django.urls import reverse

from billing.services import credits_balance
from tests.billing.conftest import WEBHOOK_SECRET
from tests.factories import TEST_PASSWORD


@pytest.mark.django_db(transaction=True)
def test_buying_credits_end_to_end(
    live_server, alice, stripe_standin, stripe_catalogue, webhook_endpoint
):
    stripe_standin.webhook_url = live_server.url + reverse(
        "djstripe:djstripe_webhook_by_uuid", args=[webhook_endpoint.djstripe_uuid]
    )
    stripe_standin.webhook_secret = WEBHOOK_SECRET
    browser = requests.Session()
    login_page = browser.get(live_server.url + "/accounts/login/")
    browser.post(
        live_server.url + "/accounts/login/",
        data={
            "login": alice.email,
            "password": TEST_PASSWORD,
            "csrfmiddlewaretoken": login_page.cookies["csrftoken"],
        },
        headers={"Referer": live_server.url + "/accounts/login/"},
    )
    pack = stripe_catalogue["packs"][50]

    page = browser.post(
        live_server.url + f"/billing/credits/{pack.id}/buy/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": live_server.url + "/billing/"},
    )

    assert page.status_code == 200
    assert page.url == live_server.url + "/billing/"
    assert "Thank you" in page.text
    assert credits_balance(user=alice) == 50
