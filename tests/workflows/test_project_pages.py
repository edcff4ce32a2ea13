"""Project pages: create, edit, archive, restore and share through the UI."""

import pytest
from django.urls import reverse

from tests.workflows.factories import ProjectFactory
from workflows.models import Project


@pytest.mark.django_db
def test_create_edit_archive_restore(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("workflows:project_create"),
        {
            "name": "Spring <b>sale</b>",
            "color": "#AA3300",
            "tags": "shop, spring",
            "metadata_text": '{"client": "Acme"}',
        },
    )
    project = Project.objects.get(owner=alice)
    assert response.status_code == 302
    assert project.tags == ["shop", "spring"]
    assert project.metadata == {"client": "Acme"}

    page = client.get(reverse("workflows:project_detail", kwargs={"project_id": project.id}))
    assert b"Spring &lt;b&gt;sale&lt;/b&gt;" in page.content

    client.post(
        reverse("workflows:project_edit", kwargs={"project_id": project.id}),
        {"name": "Summer", "color": "#00AA00", "tags": "", "metadata_text": ""},
    )
    project.refresh_from_db()
    assert (project.name, project.color, project.tags) == ("Summer", "#00AA00", [])

    detail_url = reverse("workflows:project_detail", kwargs={"project_id": project.id})
    list_url = reverse("workflows:project_list")
    client.post(reverse("workflows:project_archive", kwargs={"project_id": project.id}))
    assert detail_url not in client.get(list_url).content.decode()
    assert detail_url in client.get(list_url + "?archived=1").content.decode()

    client.post(reverse("workflows:project_restore", kwargs={"project_id": project.id}))
    assert detail_url in client.get(list_url).content.decode()


@pytest.mark.django_db
def test_invalid_project_input_is_explained(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("workflows:project_create"),
        {"name": "", "color": "blue", "tags": "x" * 50, "metadata_text": "[1]"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Use a JSON object" in html
    assert not Project.objects.filter(owner=alice).exists()


@pytest.mark.django_db
def test_share_and_revoke_through_the_page(client, alice):
    project = ProjectFactory(owner=alice, name="Lookbook")
    client.force_login(alice)
    client.post(reverse("workflows:project_share", kwargs={"project_id": project.id}))
    project.refresh_from_db()
    shared_url = reverse("workflows:project_shared", kwargs={"share_slug": project.share_slug})
    assert (
        shared_url
        in client.get(
            reverse("workflows:project_detail", kwargs={"project_id": project.id})
        ).content.decode()
    )

    client.post(reverse("workflows:project_unshare", kwargs={"project_id": project.id}))
    client.logout()
    assert client.get(shared_url).status_code == 404
