"""The objects the target writes: stream name → its sink (in ``objects/``).

Adding an object: a module in ``objects/`` (its plan, reads, writes and a ``PushSink``
subclass) and one line here. Order between objects is the sinks' own ``after`` (contacts
drain after accounts); this table's order is the settings' order (``operations``).
"""

from __future__ import annotations

from target_activecampaign.objects.accounts import AccountsSink
from target_activecampaign.objects.contacts import ContactsSink
from target_activecampaign.sinks import PushSink

SINKS: dict[str, type[PushSink]] = {
    "contacts": ContactsSink,
    "accounts": AccountsSink,
}
