"""The draft editor's graph operations: insert on a connector, delete and reconnect, go to, undo."""

import pytest

from journeys import drafts
from journeys.drafts import START, DraftError
from journeys.models import EXIT


def brew():
    return {"start": "guide", "tiles": {
        "guide": {"type": "send_email", "email": "brew-guide", "next": "wait"},
        "wait": {"type": "wait", "days": 2, "next": "clicked"},
        "clicked": {"type": "interaction_branch", "tile": "guide", "interaction": "clicked",
                    "yes": "offer", "no": "tips"},
        "offer": {"type": "send_email", "email": "grinder-offer", "next": EXIT},
        "tips": {"type": "send_email", "email": "brew-tips", "next": EXIT},
    }}


def test_the_first_tile_goes_on_the_start_connector_of_an_empty_draft():
    doc, key = drafts.insert({"start": "", "tiles": {}}, after=START, where="", kind="send_email")
    assert doc == {"start": key, "tiles": {key: {"type": "send_email", "next": EXIT}}}


def test_an_inserted_tile_takes_over_the_connector_and_continues_to_its_old_target():
    doc, key = drafts.insert(brew(), after="guide", where="next", kind="wait")
    assert key == "wait_2"
    assert doc["tiles"]["guide"]["next"] == "wait_2"
    assert doc["tiles"]["wait_2"] == {"type": "wait", "days": 1, "next": "wait"}


def test_a_branch_inserted_mid_path_keeps_the_rest_on_its_first_way_and_ends_the_others():
    doc, key = drafts.insert(brew(), after="offer", where="next", kind="split")
    split = doc["tiles"][key]
    assert [b["next"] for b in split["branches"]] == [EXIT, EXIT]
    doc, key = drafts.insert(brew(), after="guide", where="next", kind="attribute_branch")
    branch = doc["tiles"][key]
    assert branch["branches"][0]["next"] == "wait" and branch["other"] == EXIT


def test_an_exit_tile_only_ends_a_path():
    with pytest.raises(DraftError, match="only go at the end"):
        drafts.insert(brew(), after="guide", where="next", kind="exit")
    doc, key = drafts.insert(brew(), after="offer", where="next", kind="exit")
    assert doc["tiles"]["offer"]["next"] == key


def test_inserting_on_an_unknown_connector_is_refused():
    with pytest.raises(DraftError):
        drafts.insert(brew(), after="nope", where="next", kind="wait")
    with pytest.raises(DraftError):
        drafts.insert(brew(), after="guide", where="yes", kind="wait")
    with pytest.raises(DraftError):
        drafts.insert(brew(), after="guide", where="next", kind="teleport")


def test_deleting_a_tile_reconnects_what_led_to_it_with_what_followed_it():
    doc, removed = drafts.delete(brew(), "wait")
    assert removed == ["wait"]
    assert doc["tiles"]["guide"]["next"] == "clicked"


def test_deleting_the_first_tile_moves_the_start():
    doc, _ = drafts.delete(brew(), "guide")
    assert doc["start"] == "wait"
    doc, _ = drafts.delete({"start": "only", "tiles": {"only": {"type": "exit"}}}, "only")
    assert doc == {"start": "", "tiles": {}}


def test_deleting_a_branch_keeps_its_first_path_and_drops_the_others():
    doc, removed = drafts.delete(brew(), "clicked")
    assert removed == ["clicked", "tips"]
    assert doc["tiles"]["wait"]["next"] == "offer"
    assert set(doc["tiles"]) == {"guide", "wait", "offer"}


def test_a_go_to_elsewhere_drops_the_path_nothing_else_reaches():
    doc, removed = drafts.retarget(brew(), after="clicked", where="no", target="guide")
    assert removed == ["tips"]
    assert doc["tiles"]["clicked"]["no"] == "guide"
    doc, removed = drafts.retarget(doc, after="clicked", where="yes", target=EXIT)
    assert removed == ["offer"]


def test_a_go_to_an_unknown_tile_is_refused():
    with pytest.raises(DraftError):
        drafts.retarget(brew(), after="clicked", where="no", target="nowhere")


def test_paths_can_be_added_and_removed_but_not_the_last():
    doc, key = drafts.insert(brew(), after="offer", where="next", kind="ab_test")
    doc = drafts.add_path(doc, key)
    assert [v["name"] for v in doc["tiles"][key]["variants"]] == ["A", "B", "C"]
    doc, extra = drafts.insert(doc, after=key, where="variants[2].next", kind="send_email")
    doc, removed = drafts.remove_path(doc, key, 2)
    assert removed == [extra]
    doc, _ = drafts.remove_path(doc, key, 1)
    with pytest.raises(DraftError, match="at least one"):
        drafts.remove_path(doc, key, 0)
    with pytest.raises(DraftError):
        drafts.add_path(doc, "guide")


def test_undo_returns_the_states_in_reverse_order_within_the_limit():
    history = []
    for days in range(1, 5):
        history = drafts.remember(history, {"start": "w", "tiles": {"w": {"type": "wait", "days": days}}}, limit=3)
    restored, history = drafts.undo(history)
    assert restored["tiles"]["w"]["days"] == 4
    restored, history = drafts.undo(history)
    restored, history = drafts.undo(history)
    assert restored["tiles"]["w"]["days"] == 2
    assert drafts.undo(history) == (None, [])


def test_every_kind_has_a_default_tile_whose_ways_out_all_end():
    from journeys import catalog
    for kind in catalog.KINDS:
        tile = drafts.default_tile(kind)
        assert all(out.target == EXIT for out in catalog.outs(tile)), kind


def test_keys_stay_readable_and_unique():
    doc = drafts.normalized(brew())
    assert drafts.new_key(doc, "send_email") == "send_email"
    doc["tiles"]["send_email"] = {}
    doc["tiles"]["send_email_2"] = {}
    assert drafts.new_key(doc, "send_email") == "send_email_3"
    assert drafts.new_key(doc, "exit") == "exit_2"
