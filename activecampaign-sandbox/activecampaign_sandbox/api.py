"""The /api/3 routes of the sandbox: one mixin per resource group, over ``routes.base``.

A new object: a row in ``activecampaign_client.OBJECTS`` (path, wrapper keys, 404 model), a
table in ``store.TABLE_INDEXES``, a ``routes.base.GENERIC`` row for its plain list / get /
update / delete routes, and the handlers of what is special about it in its resource module.
"""

from __future__ import annotations

from activecampaign_sandbox.behaviour import AccountBehaviour
from activecampaign_sandbox.routes.accounts import AccountRoutes
from activecampaign_sandbox.routes.base import Handler, Request, is_valid_email
from activecampaign_sandbox.routes.contacts import ContactRoutes
from activecampaign_sandbox.routes.custom_fields import CustomFieldRoutes
from activecampaign_sandbox.routes.deals import DealRoutes
from activecampaign_sandbox.routes.fields import FieldRoutes
from activecampaign_sandbox.routes.lists_tags import ListTagRoutes
from activecampaign_sandbox.store import Store

__all__ = ["Api", "Handler", "Request", "is_valid_email"]


class Api(ContactRoutes, FieldRoutes, AccountRoutes, CustomFieldRoutes, DealRoutes,
          ListTagRoutes):
    """Routes of the ActiveCampaign v3 API, matched by method and path template."""

    def __init__(self, store: Store, behaviour: AccountBehaviour | None = None) -> None:
        super().__init__(store, behaviour)
        self.register_contacts()
        self.register_custom_fields()
        self.register_routes()
        self.register_generic()  # after the special routes: /users/me before /users/{id}
