"""Forking copies a public workflow or template into one's library and counts it."""

import pytest

from creator_site.errors import NotFound
from tests.workflows.factories import WorkflowFactory
from workflows.models import Workflow
from workflows.selectors import preset_get
from workflows.services import workflow_fork, workflow_record_use


@pytest.mark.django_db
def test_forking_a_preset_records_forked_from_and_counts(alice, bob):
    preset = preset_get(slug="portrait_pro")
    before = preset.copy_count

    first = workflow_fork(user=alice, workflow=preset)
    second = workflow_fork(user=bob, workflow=preset)

    preset.refresh_from_db()
    assert preset.copy_count == before + 2
    for copy, owner in ((first, alice), (second, bob)):
        assert copy.owner == owner
        assert copy.forked_from == preset
        assert copy.visibility == Workflow.Visibility.PRIVATE
        assert copy.is_template is False
        assert copy.workflow_json == preset.workflow_json
        assert copy.parameters == preset.parameters
        assert copy.versions.count() == 1
        assert copy.copy_count == 0


@pytest.mark.django_db
def test_forking_twice_gives_distinct_slugs(alice):
    preset = preset_get(slug="cinematic")
    first = workflow_fork(user=alice, workflow=preset)
    second = workflow_fork(user=alice, workflow=preset)
    assert first.slug == "cinematic"
    assert second.slug == "cinematic-2"


@pytest.mark.django_db
def test_a_public_workflow_can_be_forked_by_others(alice, bob):
    public = WorkflowFactory(owner=alice, visibility=Workflow.Visibility.PUBLIC)
    copy = workflow_fork(user=bob, workflow=public)
    public.refresh_from_db()
    assert public.copy_count == 1
    assert copy.forked_from == public


@pytest.mark.django_db
def test_another_users_private_workflow_cannot_be_forked(alice, bob):
    private = WorkflowFactory(owner=alice)
    count = Workflow.objects.count()
    with pytest.raises(NotFound):
        workflow_fork(user=bob, workflow=private)
    assert Workflow.objects.count() == count
    private.refresh_from_db()
    assert private.copy_count == 0


@pytest.mark.django_db
def test_use_count_goes_up_atomically(alice):
    workflow = WorkflowFactory(owner=alice)
    workflow_record_use(workflow=workflow)
    workflow_record_use(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.use_count == 2
