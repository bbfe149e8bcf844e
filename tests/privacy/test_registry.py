"""The retention registry covers every table, and states and applies the configured rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from advocacy.config import ConfigurationError, Settings
from advocacy.extensions import db
from advocacy.models import Campaign, Letter, Signature
from advocacy.privacy import services
from advocacy.privacy.registry import NOT_PERSONAL, DataSubject, policy, registry
from tests.conftest import TEST_SECRET, make_settings
from tests.privacy.conftest import AYESHA, OTHER, add_person


def test_registry_every_table_is_registered_or_declared_not_personal(app: object) -> None:
    assert db.engine is not None
    schema = set(inspect(db.engine).get_table_names())
    registered = set(registry())
    assert not registered & set(NOT_PERSONAL), "a table is both personal and not"
    missing = schema - registered - set(NOT_PERSONAL)
    assert not missing, f"tables with no retention entry: {sorted(missing)}"
    assert registered <= schema


def test_registry_every_rule_names_a_real_setting(settings: Settings) -> None:
    for entry in registry().values():
        for rule in entry.rules:
            assert isinstance(rule.value(settings), int), rule.setting


def test_policy_states_the_configured_values(database_url: str, tmp_path: Path) -> None:
    defaults = " ".join(policy(make_settings(database_url, tmp_path / "a")))
    assert "erased 28 days after it is delivered" in defaults
    assert "when its confirmation link expires" in defaults
    assert "365 days" in defaults
    custom = make_settings(
        database_url,
        tmp_path / "b",
        env={
            "LETTER_BODY_RETENTION_DAYS": "1",
            "PERSONAL_DATA_RETENTION_DAYS": "90",
            "UNCONFIRMED_RETENTION_HOURS": "12",
        },
    )
    stated = " ".join(policy(custom))
    assert "erased 1 day after it is delivered" in stated
    assert "12 hours after its confirmation link expires" in stated
    assert "90 days" in stated
    assert "365" not in stated


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PERSONAL_DATA_RETENTION_DAYS": "20"}, "at least LETTER_BODY_RETENTION_DAYS"),
        ({"LETTER_BODY_RETENTION_DAYS": "-1"}, "cannot be negative"),
        ({"UNCONFIRMED_RETENTION_HOURS": "soon"}, "whole number"),
    ],
)
def test_settings_refuse_a_retention_that_makes_no_sense(
    database_url: str, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_settings(database_url, tmp_path, env=env)


def test_erase_person_leaves_nothing_findable_and_keeps_the_counts(
    campaign: Campaign, session: Session
) -> None:
    add_person(session, campaign, AYESHA)
    kept = add_person(session, campaign, OTHER)
    before = services.held_counts(session, AYESHA.subject)
    assert all(before[t] > 0 for t in ("letters", "signatures", "letter_fingerprints"))
    assert before["postcode_cache"] == 1

    erased = services.erase_person(session, AYESHA.subject)

    assert sum(erased.values()) > 0
    assert set(services.held_counts(session, AYESHA.subject).values()) == {0}
    assert services.export_person(session, AYESHA.subject).is_empty
    # The count and the other person are untouched.
    assert session.scalar(select(func.count(Signature.id))) == 2
    assert session.scalar(select(func.count(Letter.id))) == 2
    session.expire_all()
    assert session.get(Letter, kept.id).sender_name == OTHER.name  # type: ignore[union-attr]
    assert services.held_counts(session, OTHER.subject)["postcode_cache"] == 1


def test_export_person_holds_what_they_gave(campaign: Campaign, session: Session) -> None:
    add_person(session, campaign, AYESHA)
    add_person(session, campaign, OTHER)
    # Found by the address however it is typed.
    subject = DataSubject.from_email("  GULNISA.t@Example.org ", TEST_SECRET)
    export = services.export_person(session, subject).as_dict()
    [letter] = export["data"]["letters"]["rows"]
    assert letter["name"] == AYESHA.name
    assert letter["your_words"] == AYESHA.words
    assert letter["postcode"] == AYESHA.postcode
    assert OTHER.name not in str(export)
    assert export["data"]["signatures"]["rows"][0]["campaign"] == campaign.title
