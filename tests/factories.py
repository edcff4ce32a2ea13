"""factory-boy factories shared by the test suite."""

import secrets

import factory
from allauth.account.models import EmailAddress

from accounts.models import ApiKey, User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    onboarding_completed = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        # allauth with mandatory verification needs a verified address to log in.
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """A key whose full secret is kept on the instance as `full_key` (memory
    only, like the one-time display) so a test can send it."""

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"key {n}")
    full_key = factory.LazyFunction(lambda: ApiKey.PREFIX + secrets.token_urlsafe(32))
    prefix = factory.LazyAttribute(lambda o: o.full_key[: len(ApiKey.PREFIX) + 8])
    key_hash = factory.LazyAttribute(lambda o: ApiKey.hash_key(o.full_key))
    scopes = factory.LazyFunction(lambda: list(ApiKey.SCOPES))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        full_key = kwargs.pop("full_key")
        api_key = super()._create(model_class, *args, **kwargs)
        api_key.full_key = full_key
        return api_key
