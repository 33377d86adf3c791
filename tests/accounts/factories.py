import datetime

import factory
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User

DEFAULT_PASSWORD = "mot-de-passe-de-test-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password(DEFAULT_PASSWORD)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["code"]

    name = factory.Sequence(lambda n: f"Service {n}")
    code = factory.Sequence(lambda n: f"service-{n}")
    kind = Department.Kind.INSERTION


class StructureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Structure
        django_get_or_create = ["code"]

    name = factory.Sequence(lambda n: f"Structure {n}")
    code = factory.Sequence(lambda n: f"structure-{n}")
    kind = Structure.Kind.TERRITORIAL_UNIT
    department = factory.SubFactory(DepartmentFactory)

    class Params:
        external = factory.Trait(kind=Structure.Kind.ASSOCIATION, department=None)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    structure = factory.SubFactory(StructureFactory)
    role = Role.REFERENT
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=365))

    class Params:
        ended = factory.Trait(end_date=factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=1)))


def member(role: str = Role.REFERENT, structure: Structure | None = None, **user_fields) -> User:
    """A user with one active membership: the persona helper used across the suite."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, role=role, structure=structure or StructureFactory())
    return user
