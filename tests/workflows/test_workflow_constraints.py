"""Database rules: credits at least 1, slugs unique per owner, preset slugs global."""

import pytest
from django.db import IntegrityError, transaction

from tests.workflows.factories import WorkflowFactory, preset_graph
from workflows.models import Workflow


@pytest.mark.django_db
def test_estimated_credits_below_one_is_refused_by_the_database(alice):
    workflow = WorkflowFactory(owner=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Workflow.objects.filter(id=workflow.id).update(estimated_credits=0)


@pytest.mark.django_db
def test_slugs_are_unique_per_owner_not_globally(alice, bob):
    WorkflowFactory(owner=alice, slug="portrait")
    WorkflowFactory(owner=bob, slug="portrait")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowFactory(owner=alice, slug="portrait")


@pytest.mark.django_db
def test_preset_slugs_are_global():
    with pytest.raises(IntegrityError), transaction.atomic():
        Workflow.objects.create(
            owner=None, name="Dup", slug="portrait_pro", workflow_json=preset_graph()
        )


@pytest.mark.django_db
def test_public_slugs_are_long_and_distinct(alice):
    first, second = WorkflowFactory(owner=alice), WorkflowFactory(owner=alice)
    assert len(first.public_slug) >= 20
    assert first.public_slug != second.public_slug
