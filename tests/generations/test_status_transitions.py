"""A job's status only moves along the state machine, one event per move."""

import threading

import pytest
from django.db import connection

from generations.models import Generation, GenerationEvent
from generations.states import IllegalTransition, generation_transition
from tests.generations.factories import GenerationFactory

Status = Generation.Status
pytestmark = pytest.mark.django_db


def test_it_moves_a_queued_job_to_processing_with_one_event():
    job = GenerationFactory()
    assert generation_transition(generation=job, to=Status.PROCESSING, kind="claimed")
    assert job.status == Status.PROCESSING
    event = GenerationEvent.objects.get(generation=job)
    assert (event.kind, event.from_status, event.to_status) == ("claimed", "queued", "processing")


def test_it_refuses_to_leave_a_final_status():
    job = GenerationFactory(status=Status.COMPLETED)
    assert not generation_transition(generation=job, to=Status.PROCESSING)
    assert not generation_transition(generation=job, to=Status.FAILED)
    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert not GenerationEvent.objects.filter(generation=job).exists()


def test_it_raises_for_a_move_no_status_allows():
    job = GenerationFactory()
    with pytest.raises(IllegalTransition):
        generation_transition(generation=job, to=Status.COMPLETED, expect_status=[Status.QUEUED])


def test_it_fences_off_a_worker_whose_attempt_was_taken_over():
    job = GenerationFactory(status=Status.PROCESSING, attempts=2)
    assert not generation_transition(generation=job, to=Status.COMPLETED, expect_attempt=1)
    assert generation_transition(generation=job, to=Status.COMPLETED, expect_attempt=2)


def test_it_writes_fields_with_the_status():
    job = GenerationFactory(status=Status.PROCESSING)
    generation_transition(
        generation=job, to=Status.FAILED, error_code="execution_error", error_message="boom"
    )
    job.refresh_from_db()
    assert (job.status, job.error_code, job.error_message) == ("failed", "execution_error", "boom")


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_one_job_get_it_once():
    job = GenerationFactory()
    results = []
    barrier = threading.Barrier(8)

    def claim():
        barrier.wait()
        try:
            results.append(
                generation_transition(
                    generation=Generation.objects.get(id=job.id),
                    to=Status.PROCESSING,
                    expect_status=[Status.QUEUED],
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert GenerationEvent.objects.filter(generation_id=job.id).count() == 1
