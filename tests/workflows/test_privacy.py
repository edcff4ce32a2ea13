"""Another user's private workflow or project does not exist for you (404),
by page and by direct id; unlisted workflows only through their slug."""

import pytest
from django.urls import reverse

from creator_site.errors import NotFound
from tests.workflows.factories import ProjectFactory, WorkflowFactory
from workflows.models import Workflow, WorkflowVersion
from workflows.selectors import (
    project_get_for_user,
    workflow_get_by_public_slug,
    workflow_get_for_user,
    workflow_list,
    workflow_version_get_for_user,
)
from workflows.services import project_share, project_unshare

WORKFLOW_PAGES = ["detail", "run", "edit", "parameters"]


@pytest.fixture
def private(alice):
    return WorkflowFactory(owner=alice, name="Alice secret", slug="alice-secret")


@pytest.mark.django_db
@pytest.mark.parametrize("page", WORKFLOW_PAGES)
def test_alices_private_workflow_is_404_for_bob(client, bob, private, page):
    client.force_login(bob)
    response = client.get(reverse(f"workflows:{page}", kwargs={"workflow_id": private.id}))
    assert response.status_code == 404
    assert b"Alice secret" not in response.content


@pytest.mark.django_db
def test_alices_private_workflow_pages_work_for_alice(client, alice, private):
    client.force_login(alice)
    for page in WORKFLOW_PAGES:
        response = client.get(reverse(f"workflows:{page}", kwargs={"workflow_id": private.id}))
        assert response.status_code == 200, page


@pytest.mark.django_db
def test_bob_cannot_reach_alices_versions_fork_or_delete(client, bob, private):
    client.force_login(bob)
    kwargs = {"workflow_id": private.id}
    assert (
        client.get(reverse("workflows:version", kwargs={**kwargs, "number": 1})).status_code == 404
    )
    assert client.post(reverse("workflows:fork", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("workflows:delete", kwargs=kwargs)).status_code == 404
    assert Workflow.objects.filter(id=private.id).exists()
    assert not Workflow.objects.filter(owner=bob).exists()


@pytest.mark.django_db
def test_selectors_hide_private_workflows_by_id_and_slug(alice, bob, private):
    with pytest.raises(NotFound):
        workflow_get_for_user(user=bob, id_or_slug=private.id)
    with pytest.raises(NotFound):
        workflow_get_for_user(user=bob, id_or_slug="alice-secret")
    assert workflow_get_for_user(user=alice, id_or_slug="alice-secret") == private
    assert private not in workflow_list(user=bob, tab="public")
    assert private not in workflow_list(user=bob, tab="mine")


@pytest.mark.django_db
def test_private_workflows_have_no_working_share_link(client, private):
    response = client.get(reverse("workflows:shared", kwargs={"public_slug": private.public_slug}))
    assert response.status_code == 404
    with pytest.raises(NotFound):
        workflow_get_by_public_slug(public_slug=private.public_slug)


@pytest.mark.django_db
def test_unlisted_workflows_are_reachable_only_by_their_slug(client, alice, bob):
    unlisted = WorkflowFactory(owner=alice, name="Alice unlisted", visibility="unlisted")
    client.force_login(bob)

    by_id = client.get(reverse("workflows:detail", kwargs={"workflow_id": unlisted.id}))
    assert by_id.status_code == 404
    assert unlisted not in workflow_list(user=bob, tab="public")

    by_slug = client.get(reverse("workflows:shared", kwargs={"public_slug": unlisted.public_slug}))
    assert by_slug.status_code == 200
    assert b"Alice unlisted" in by_slug.content

    fork = client.post(
        reverse("workflows:fork_shared", kwargs={"public_slug": unlisted.public_slug})
    )
    assert fork.status_code == 302
    assert Workflow.objects.get(owner=bob).forked_from == unlisted

    assert (
        client.get(reverse("workflows:shared", kwargs={"public_slug": "guess"})).status_code == 404
    )


@pytest.mark.django_db
def test_public_workflows_and_presets_are_visible_to_others(client, alice, bob):
    public = WorkflowFactory(owner=alice, name="Alice public", visibility="public")
    client.force_login(bob)
    assert (
        client.get(reverse("workflows:detail", kwargs={"workflow_id": public.id})).status_code
        == 200
    )
    assert workflow_get_for_user(user=bob, id_or_slug="portrait_pro").is_preset


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["project_detail", "project_edit"])
def test_alices_project_is_404_for_bob(client, alice, bob, page):
    project = ProjectFactory(owner=alice, name="Alice project")
    client.force_login(bob)
    response = client.get(reverse(f"workflows:{page}", kwargs={"project_id": project.id}))
    assert response.status_code == 404
    with pytest.raises(NotFound):
        project_get_for_user(user=bob, project_id=project.id)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action", ["project_archive", "project_restore", "project_share", "project_unshare"]
)
def test_bob_cannot_change_alices_project(client, alice, bob, action):
    project = ProjectFactory(owner=alice)
    client.force_login(bob)
    response = client.post(reverse(f"workflows:{action}", kwargs={"project_id": project.id}))
    assert response.status_code == 404
    project.refresh_from_db()
    assert project.archived_at is None and project.share_slug is None


@pytest.mark.django_db
def test_shared_project_page_works_without_login_until_revoked(client, alice):
    project = ProjectFactory(owner=alice, name="Campaign")
    slug = project_share(project=project, user=alice)
    url = reverse("workflows:project_shared", kwargs={"share_slug": slug})
    response = client.get(url)
    assert response.status_code == 200
    assert b"Campaign" in response.content
    assert alice.email.encode() not in response.content

    project_unshare(project=project, user=alice)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_pages_need_login(client, private):
    response = client.get(reverse("workflows:detail", kwargs={"workflow_id": private.id}))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_job_creations_lookup_sees_what_the_workflow_lookup_sees_and_takes_the_newest_version(
    alice, bob, private
):
    """Job creation finds the workflow and its version in one query; it must
    hide and prefer exactly as workflow_get_for_user does."""
    WorkflowVersion.objects.create(
        workflow=private,
        number=2,
        workflow_json=private.workflow_json,
        parameters=private.parameters,
        created_by=alice,
    )
    public = WorkflowFactory(owner=alice, visibility="public")
    unlisted = WorkflowFactory(owner=alice, visibility="unlisted")
    own_portrait = WorkflowFactory(owner=alice, slug="portrait_pro")

    for user, id_or_slug in [
        (bob, private.id),
        (bob, "alice-secret"),
        (bob, unlisted.id),
        (bob, public.slug),  # another user's slug is not looked up
        (alice, "no-such-slug"),
        (alice, "not-a-uuid-nor-a-slug/../"),
    ]:
        with pytest.raises(NotFound):
            workflow_version_get_for_user(user=user, id_or_slug=id_or_slug)
        with pytest.raises(NotFound):
            workflow_get_for_user(user=user, id_or_slug=id_or_slug)

    for user, id_or_slug, expected in [
        (alice, "alice-secret", private),
        (alice, str(private.id), private),
        (bob, public.id, public),
        (alice, "portrait_pro", own_portrait),  # the user's own slug wins
        (bob, "portrait_pro", workflow_get_for_user(user=bob, id_or_slug="portrait_pro")),
    ]:
        version = workflow_version_get_for_user(user=user, id_or_slug=id_or_slug)
        assert (
            version.workflow == expected == workflow_get_for_user(user=user, id_or_slug=id_or_slug)
        )
        assert version.number == expected.versions.order_by("-number").first().number
    assert workflow_version_get_for_user(user=alice, id_or_slug=private.id).number == 2
    assert workflow_get_for_user(user=bob, id_or_slug="portrait_pro").is_preset
