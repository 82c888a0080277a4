from django.apps import AppConfig


class ListsConfig(AppConfig):
    name = "academail.lists"
    label = "lists"
    verbose_name = "Listes de diffusion"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from academail import redaction
        from academail.delivery.door import register_lists
        from academail.lists.models import Post
        from academail.lists.posting import (
            check_post,
            do_receive,
            find_addresses,
            release_post_content,
        )

        # Mail for a list's address or its bounce addresses comes here
        # (delivery imports nothing of lists).
        register_lists(find_addresses, do_receive, check_post)
        redaction.register_token_url("lists:unsubscribe")
        # A post deleted in any way (its list deleted too) releases its content.
        post_delete.connect(
            lambda sender, instance, **kwargs: release_post_content(instance), sender=Post,
            dispatch_uid="lists.release_post_content", weak=False,
        )
