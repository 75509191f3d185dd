from django.apps import AppConfig


class ContactsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "contacts"
    verbose_name = "People"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from contacts import roles, signals  # noqa: F401  (connects the people change hook)

        post_migrate.connect(roles.sync_roles_after_migrate, sender=self)
