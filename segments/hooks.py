"""Continuous segments listen to the people change hook: changed people are re-checked in the
worker within seconds, without a full refresh."""

from contacts.hooks import PeopleChange
from segments import tasks


def on_people_changed(change: PeopleChange) -> None:
    tasks.recheck_people.delay(sorted(change.contact_ids), sorted(change.lead_ids))
