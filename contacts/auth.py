from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import DjangoModelPermissions


class APIKeyAuthentication(BaseAuthentication):
    pass


class ScopedModelPermissions(DjangoModelPermissions):
    pass
