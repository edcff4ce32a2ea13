"""Projects: validation, archive/restore, counters kept in step, sharing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from creator_site.errors import NotFound
from tests.workflows.factories import ProjectFactory, preset_graph
from workflows.models import Project, Workflow
from workflows.selectors import preset_get, project_get_by_share_slug, project_list
from workflows.services import (
    project_archive,
    project_create,
    project_record_generation,
    project_restore,
    project_share,
    project_unshare,
    project_update,
    workflow_create,
    workflow_delete,
    workflow_fork,
    workflow_set_project,
)


@pytest.mark.django_db
def test_a_project_keeps_tags_metadata_and_a_hex_colour(alice):
    project = project_create(
        user=alice,
        name="Spring campaign",
        color="#1e5a6e",
        tags=["shop", " spring ", "shop"],
        metadata={"client": "Acme"},
    )
    assert project.color == "#1E5A6E"
    assert project.tags == ["shop", "spring"]
    assert project.metadata == {"client": "Acme"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"color": "red"}, "color"),
        ({"color": "#12345"}, "color"),
        ({"name": ""}, "name"),
        ({"name": "x" * 500}, "name"),
        ({"tags": [1, 2]}, "tags"),
        ({"tags": ["x" * 100]}, "tags"),
        ({"metadata": [1]}, "metadata"),
    ],
)
def test_invalid_project_fields_are_rejected(alice, kwargs, field):
    count = Project.objects.count()
    with pytest.raises(ValidationError) as exc:
        project_create(user=alice, **{"name": "P", **kwargs})
    assert field in exc.value.message_dict
    assert Project.objects.count() == count


@pytest.mark.django_db
def test_the_database_refuses_a_bad_colour(alice):
    with pytest.raises(IntegrityError):
        Project.objects.create(owner=alice, name="P", color="blue")


@pytest.mark.django_db
def test_archive_hides_and_restore_brings_back_with_counters_intact(alice):
    project = ProjectFactory(owner=alice)
    workflow_create(user=alice, name="In project", graph=preset_graph(), project=project)
    project_record_generation(project=project)

    project_archive(project=project, user=alice)
    assert project not in project_list(user=alice)
    assert project in project_list(user=alice, archived=True)
    project.refresh_from_db()
    assert (project.workflow_count, project.generation_count) == (1, 1)

    project_restore(project=project, user=alice)
    assert project in project_list(user=alice)
    project.refresh_from_db()
    assert project.archived_at is None
    assert (project.workflow_count, project.generation_count) == (1, 1)


@pytest.mark.django_db
def test_an_archived_project_takes_no_new_workflows(alice):
    project = ProjectFactory(owner=alice)
    project_archive(project=project, user=alice)
    with pytest.raises(ValidationError):
        workflow_create(user=alice, name="Late", graph=preset_graph(), project=project)
    project.refresh_from_db()
    assert project.workflow_count == 0


@pytest.mark.django_db
def test_workflow_count_follows_create_fork_move_and_delete(alice):
    first, second = ProjectFactory(owner=alice), ProjectFactory(owner=alice)
    workflow = workflow_create(user=alice, name="A", graph=preset_graph(), project=first)
    workflow_fork(user=alice, workflow=preset_get(slug="cinematic"), project=first)
    first.refresh_from_db()
    assert first.workflow_count == 2

    workflow_set_project(workflow=workflow, user=alice, project=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.workflow_count, second.workflow_count) == (1, 1)

    workflow_delete(workflow=workflow, user=alice)
    second.refresh_from_db()
    assert second.workflow_count == 0
    assert not Workflow.objects.filter(id=workflow.id).exists()


@pytest.mark.django_db
def test_record_generation_counts_and_only_moves_forward(alice):
    project = ProjectFactory(owner=alice)
    now = timezone.now()
    project_record_generation(project=project, at=now)
    project_record_generation(project=project, at=now - timedelta(hours=1))
    project.refresh_from_db()
    assert project.generation_count == 2
    assert project.last_generation_at == now


@pytest.mark.django_db
def test_update_does_not_overwrite_counters(alice):
    project = ProjectFactory(owner=alice)
    stale = Project.objects.get(id=project.id)
    project_record_generation(project=project)
    project_update(project=stale, user=alice, name="Renamed", tags="a, b")
    project.refresh_from_db()
    assert project.name == "Renamed"
    assert project.tags == ["a", "b"]
    assert project.generation_count == 1


@pytest.mark.django_db
def test_share_slug_is_unguessable_and_revocable(alice):
    project = ProjectFactory(owner=alice)
    slug = project_share(project=project, user=alice)
    assert len(slug) >= 20
    assert project_share(project=project, user=alice) == slug
    assert project_get_by_share_slug(share_slug=slug) == project

    project_archive(project=project, user=alice)
    with pytest.raises(NotFound):
        project_get_by_share_slug(share_slug=slug)
    project_restore(project=project, user=alice)
    assert project_get_by_share_slug(share_slug=slug) == project

    project_unshare(project=project, user=alice)
    with pytest.raises(NotFound):
        project_get_by_share_slug(share_slug=slug)
    assert project_share(project=project, user=alice) != slug
