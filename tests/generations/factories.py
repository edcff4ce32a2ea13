import factory

from generations.models import ComfyServer, Generation
from tests.factories import UserFactory


class ComfyServerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComfyServer

    url = factory.Sequence(lambda n: f"http://127.0.0.1:{9100 + n}")
    name = factory.LazyAttribute(lambda o: o.url)


class GenerationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generation

    user = factory.SubFactory(UserFactory)
    workflow_name = "portrait_pro"
