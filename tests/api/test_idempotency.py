"""`Idempotency-Key`: a retried request returns the same job; a reused key
with another body is a conflict; a race between two retries makes one job."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from generations.models import Generation
from tests.api.conftest import assert_error, job_count, key_client
from tests.api.test_jobs import png_upload


def post(client, key, **fields):
    body = {"workflow": "portrait_pro", "image": png_upload(), **fields}
    return client.post("/api/v1/jobs", body, format="multipart", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_the_same_request_twice_is_the_same_job(alice_api, preset_workflows):
    first = post(alice_api, "order-1234", parameters='{"softening": 0.2}')
    again = post(alice_api, "order-1234", parameters='{"softening": 0.2}')

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert job_count() == 1
    job = Generation.objects.get()
    assert job.idempotency_key == "order-1234"
    assert len(job.idempotency_fingerprint) == 64


@pytest.mark.django_db
def test_another_body_with_the_same_key_is_a_409(alice_api, preset_workflows):
    post(alice_api, "order-1234", parameters='{"softening": 0.2}')

    changed_parameters = post(alice_api, "order-1234", parameters='{"softening": 0.9}')
    changed_image = alice_api.post(
        "/api/v1/jobs",
        {"workflow": "portrait_pro", "image": png_upload(size=(32, 32)),
         "parameters": '{"softening": 0.2}'},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="order-1234",
    )  # fmt: skip

    assert "different request body" in assert_error(changed_parameters, 409, "conflict")["message"]
    assert_error(changed_image, 409, "conflict")
    assert job_count() == 1


@pytest.mark.django_db
def test_keys_belong_to_the_account(alice_api, bob_api, preset_workflows):
    alices = post(alice_api, "same-key")
    bobs = post(bob_api, "same-key")

    assert alices.status_code == bobs.status_code == 201
    assert alices.json()["id"] != bobs.json()["id"]


@pytest.mark.django_db
def test_a_bad_key_is_a_400(alice_api, preset_workflows):
    error = assert_error(post(alice_api, "x" * 256), 400, "invalid_parameters")

    assert "Idempotency-Key" in error["details"]
    assert job_count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_retries_make_one_job(alice, preset_workflows):
    api_key = key_client(alice).api_key
    barrier = threading.Barrier(4)
    results = []

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.full_key}")
        try:
            barrier.wait()
            response = post(client, "race-key", parameters='{"softening": 0.3}')
            results.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(code for code, _ in results) == [200, 200, 200, 201]
    assert len({job_id for _, job_id in results}) == 1
    assert Generation.objects.filter(idempotency_key="race-key").count() == 1
