"""Contracts: create (draft or signed), renew, sign; the rules of the law and of renewals."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from casework.models import Beneficiary, Contract
from casework.services import common
from casework.services.common import ConcurrentEdit
from casework.services.pathway import contract_create, contract_renew, contract_sign
from tests.casework.factories import ContractFactory
from tests.casework.test_pathway_world import (
    days,
    field_errors,
    file_url,
    messages_of,
    personas_on_a_pathway,  # noqa: F401 (`personas`)
    today,
)

pytestmark = pytest.mark.django_db

REFORM = datetime.date(2025, 1, 1)


def create(personas, actor=None, **overrides):
    arguments = {
        "kind": Contract.Kind.CONTRAT_ENGAGEMENT,
        "start_date": days(-10),
        "end_date": days(170),
        "objectives": "Reprendre une activité salariée dans la logistique.",
    }
    arguments.update(overrides)
    return contract_create(actor=actor or personas.referent, beneficiary=personas.file, **arguments)


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


# --- Creating a contract ------------------------------------------------------------------------------


def test_a_contract_without_signature_is_a_draft_with_15_hours_a_week_by_default(personas):
    contract = create(personas)

    assert contract.status == Contract.Status.DRAFT
    assert contract.weekly_hours == 15
    assert contract.author == personas.referent
    assert contract.version == 1
    personas.file.refresh_from_db()
    assert personas.file.last_activity_at >= timezone.now() - datetime.timedelta(minutes=1)


def test_a_contract_with_a_signature_date_and_the_agreement_is_signed(personas):
    contract = create(personas, signed_on=days(-10), beneficiary_agreed=True, weekly_hours=20)

    assert contract.status == Contract.Status.SIGNED
    assert contract.signed_on == days(-10)
    assert contract.weekly_hours == 20
    assert contract.beneficiary_agreed


def test_a_signed_contract_needs_the_persons_agreement(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, signed_on=days(-1), beneficiary_agreed=False)

    assert "accord de la personne" in errors_of(excinfo)["beneficiary_agreed"][0]


def test_a_contract_is_not_signed_in_the_future(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, signed_on=days(1), beneficiary_agreed=True)

    assert errors_of(excinfo)["signed_on"] == ["La date de signature ne peut pas être dans le futur."]


def test_a_contract_ends_after_it_starts(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, start_date=days(10), end_date=days(10))

    assert errors_of(excinfo)["end_date"] == ["La fin du contrat doit être postérieure à son début."]


@pytest.mark.parametrize("hours", [0, 61])
def test_weekly_hours_stay_between_1_and_60(personas, hours):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, weekly_hours=hours)

    assert errors_of(excinfo)["weekly_hours"] == ["Indiquez entre 1 et 60 heures d'activité par semaine."]


@pytest.mark.parametrize("kind", [Contract.Kind.CER, Contract.Kind.PPAE])
def test_no_cer_nor_ppae_starts_from_2025(personas, kind):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, kind=kind, start_date=REFORM, end_date=REFORM + datetime.timedelta(days=180))

    assert "remplacés par le contrat d'engagement" in errors_of(excinfo)["kind"][0]


def test_no_contrat_d_engagement_starts_before_2025(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, start_date=datetime.date(2024, 12, 31), end_date=datetime.date(2025, 6, 30))

    assert "à partir du 1er janvier 2025" in errors_of(excinfo)["kind"][0]


def test_an_older_cer_may_still_be_recorded_without_weekly_hours(personas):
    contract = create(
        personas,
        kind=Contract.Kind.CER,
        start_date=datetime.date(2024, 3, 1),
        end_date=datetime.date(2024, 9, 1),
        signed_on=datetime.date(2024, 3, 1),
        beneficiary_agreed=True,
    )

    assert contract.kind == Contract.Kind.CER
    assert contract.weekly_hours is None


def test_several_contracts_coexist_on_a_file(personas):
    create(personas)
    create(personas, kind=Contract.Kind.CONTRAT_ENGAGEMENT, objectives="Volet professionnel")

    assert personas.file.contracts.count() == 2


def test_a_contract_needs_its_objectives(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, objectives="  ")

    assert errors_of(excinfo)["objectives"] == ["Indiquez les objectifs du contrat."]


@pytest.mark.parametrize("persona", ["recipient", "other_supervisor", "colleague"])
def test_only_who_may_act_on_the_file_writes_a_contract(personas, persona):
    with pytest.raises(PermissionDenied):
        create(personas, actor=getattr(personas, persona))

    assert not personas.file.contracts.exists()


def test_the_supervisor_of_the_structure_may_write_a_contract(personas):
    assert create(personas, actor=personas.supervisor).author == personas.supervisor


# --- Renewing -------------------------------------------------------------------------------------------


@pytest.fixture
def signed(personas):
    return ContractFactory(
        beneficiary=personas.file,
        author=personas.referent,
        start_date=days(-170),
        end_date=days(10),
        objectives="Emploi",
    )


def test_a_renewal_links_to_the_renewed_contract_which_stays(personas, signed):
    renewal = contract_renew(actor=personas.referent, contract=signed, start_date=days(11), end_date=days(191))

    signed.refresh_from_db()
    assert renewal.renews == signed
    assert signed.renewed_by == renewal
    assert signed.status == Contract.Status.SIGNED
    assert (renewal.kind, renewal.objectives, renewal.weekly_hours) == (signed.kind, "Emploi", signed.weekly_hours)
    assert renewal.status == Contract.Status.DRAFT
    assert personas.file.contracts.count() == 2


def test_a_contract_is_renewed_once_only(personas, signed):
    contract_renew(actor=personas.referent, contract=signed, start_date=days(11), end_date=days(191))

    with pytest.raises(ValidationError, match="déjà été renouvelé"):
        contract_renew(actor=personas.referent, contract=signed, start_date=days(12), end_date=days(192))
    assert Contract.objects.filter(renews=signed).count() == 1


def test_a_renewal_starts_after_the_renewed_contracts_start(personas):
    short = ContractFactory(beneficiary=personas.file, start_date=days(-10), end_date=days(10))

    with pytest.raises(ValidationError) as excinfo:
        contract_renew(actor=personas.referent, contract=short, start_date=days(-10), end_date=days(100))

    assert "commence après le début du contrat" in errors_of(excinfo)["start_date"][0]


def test_a_renewal_starts_at_the_earliest_30_days_before_the_end(personas, signed):
    with pytest.raises(ValidationError) as excinfo:
        contract_renew(actor=personas.referent, contract=signed, start_date=days(-21), end_date=days(160))
    assert "plus de 30 jours avant la fin" in errors_of(excinfo)["start_date"][0]

    renewal = contract_renew(actor=personas.referent, contract=signed, start_date=days(-20), end_date=days(160))
    assert renewal.start_date == signed.end_date - datetime.timedelta(days=30)


def test_a_draft_is_signed_before_it_is_renewed(personas):
    draft = create(personas)

    with pytest.raises(ValidationError, match="Seul un contrat signé"):
        contract_renew(actor=personas.referent, contract=draft, start_date=days(150), end_date=days(300))


def test_a_cer_renewed_in_2025_becomes_a_contrat_d_engagement(personas):
    cer = ContractFactory(
        beneficiary=personas.file,
        kind=Contract.Kind.CER,
        start_date=datetime.date(2024, 6, 1),
        end_date=datetime.date(2025, 1, 31),
        signed_on=datetime.date(2024, 6, 1),
        weekly_hours=None,
        objectives="Lever les freins de mobilité",
    )

    renewal = contract_renew(
        actor=personas.referent, contract=cer, start_date=datetime.date(2025, 2, 1), end_date=datetime.date(2025, 8, 1)
    )

    assert renewal.kind == Contract.Kind.CONTRAT_ENGAGEMENT
    assert renewal.weekly_hours == 15


def test_only_who_may_act_on_the_file_renews_a_contract(personas, signed):
    with pytest.raises(PermissionDenied):
        contract_renew(actor=personas.recipient, contract=signed, start_date=days(11), end_date=days(191))


# --- Signing --------------------------------------------------------------------------------------------


def test_signing_a_draft_records_the_date_and_the_agreement(personas):
    draft = create(personas)

    signed = contract_sign(
        actor=personas.referent, contract=draft, signed_on=today(), beneficiary_agreed=True, expected_version=1
    )

    draft.refresh_from_db()
    assert (draft.status, draft.signed_on, draft.beneficiary_agreed, draft.version) == (
        Contract.Status.SIGNED,
        today(),
        True,
        2,
    )
    assert signed.version == 2


def test_signing_with_a_stale_version_is_refused(personas):
    draft = create(personas)
    contract_sign(
        actor=personas.supervisor, contract=draft, signed_on=today(), beneficiary_agreed=True, expected_version=1
    )

    with pytest.raises(ConcurrentEdit) as excinfo:
        contract_sign(
            actor=personas.referent, contract=draft, signed_on=days(-1), beneficiary_agreed=True, expected_version=1
        )
    assert excinfo.value.current.signed_on == today()


def test_a_signed_contract_is_not_signed_again(personas, signed):
    with pytest.raises(ValidationError, match="n'est pas un brouillon"):
        contract_sign(
            actor=personas.referent, contract=signed, signed_on=today(), beneficiary_agreed=True, expected_version=1
        )


def test_signing_needs_the_agreement_and_a_past_date(personas):
    draft = create(personas)

    with pytest.raises(ValidationError) as excinfo:
        contract_sign(
            actor=personas.referent, contract=draft, signed_on=days(1), beneficiary_agreed=False, expected_version=1
        )

    assert set(errors_of(excinfo)) == {"signed_on", "beneficiary_agreed"}


# --- The pages ------------------------------------------------------------------------------------------


def contract_data(**overrides):
    data = {
        "kind": Contract.Kind.CONTRAT_ENGAGEMENT,
        "start_date": days(-5).isoformat(),
        "end_date": days(175).isoformat(),
        "weekly_hours": "15",
        "objectives": "Préparer une entrée en formation d'aide-soignante.",
        "signed_on": "",
    }
    data.update(overrides)
    return data


def test_the_contract_form_labels_every_field_and_states_the_rules(client, personas):
    client.force_login(personas.referent)

    response = client.get(reverse("casework:contract_create", args=[personas.file.public_id]))

    html = response.content.decode()
    assert response.status_code == 200
    for name in ("kind", "start_date", "end_date", "weekly_hours", "objectives", "signed_on", "beneficiary_agreed"):
        assert f'for="id_{name}"' in html, name
    assert "1er janvier 2025" in html
    assert 'aria-describedby="id_weekly_hours_helptext"' in html


def test_a_contract_posted_is_saved_and_the_user_sent_back_to_the_file(client, personas):
    client.force_login(personas.referent)

    response = client.post(reverse("casework:contract_create", args=[personas.file.public_id]), contract_data())

    assert response.status_code == 302
    assert response["Location"] == file_url(personas.file)
    contract = personas.file.contracts.get()
    assert contract.objectives == "Préparer une entrée en formation d'aide-soignante."
    assert "en brouillon" in messages_of(response)[0]


def test_form_errors_are_shown_at_the_field_in_french_and_keep_what_was_typed(client, personas):
    client.force_login(personas.referent)

    response = client.post(
        reverse("casework:contract_create", args=[personas.file.public_id]),
        contract_data(kind=Contract.Kind.CER, end_date=days(-30).isoformat(), weekly_hours="80"),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(response, "end_date") == ["La fin du contrat doit être postérieure à son début."]
    assert field_errors(response, "weekly_hours") == ["Indiquez au plus 60 heures par semaine."]
    assert 'aria-describedby="id_end_date_error"' in html or "id_end_date_helptext id_end_date_error" in html
    assert "Préparer une entrée en formation d&#x27;aide-soignante." in html
    assert not personas.file.contracts.exists()


def test_service_errors_reach_their_field(client, personas):
    client.force_login(personas.referent)

    response = client.post(
        reverse("casework:contract_create", args=[personas.file.public_id]),
        contract_data(kind=Contract.Kind.CER, signed_on=days(-1).isoformat(), beneficiary_agreed="on"),
    )

    assert response.status_code == 200
    assert "remplacés par le contrat d'engagement" in field_errors(response, "kind")[0]
    assert not personas.file.contracts.exists()


def test_a_signature_without_the_agreement_is_refused_at_the_checkbox(client, personas):
    client.force_login(personas.referent)

    response = client.post(
        reverse("casework:contract_create", args=[personas.file.public_id]),
        contract_data(signed_on=days(-1).isoformat()),
    )

    assert "accord de la personne" in field_errors(response, "beneficiary_agreed")[0]


def test_the_renewal_form_starts_from_the_renewed_contract_and_states_the_window(client, personas, signed):
    client.force_login(personas.referent)

    response = client.get(reverse("casework:contract_renew", args=[personas.file.public_id, signed.public_id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{days(11).isoformat()}"' in html
    assert f"à partir du {days(-20):%d/%m/%Y}" in html
    assert "Emploi" in html


def test_a_renewal_posted_too_early_is_refused_at_the_start_date(client, personas, signed):
    client.force_login(personas.referent)
    url = reverse("casework:contract_renew", args=[personas.file.public_id, signed.public_id])

    response = client.post(url, contract_data(start_date=days(-60).isoformat(), end_date=days(120).isoformat()))

    assert response.status_code == 200
    assert "plus de 30 jours avant la fin" in field_errors(response, "start_date")[0]

    response = client.post(url, contract_data(start_date=days(11).isoformat(), end_date=days(191).isoformat()))

    assert response.status_code == 302
    assert Contract.objects.get(renews=signed).start_date == days(11)


def test_the_renewal_page_of_an_already_renewed_contract_says_so(client, personas, signed):
    contract_renew(actor=personas.referent, contract=signed, start_date=days(11), end_date=days(191))
    client.force_login(personas.referent)
    url = reverse("casework:contract_renew", args=[personas.file.public_id, signed.public_id])

    html = client.get(url).content.decode()
    assert "déjà été renouvelé" in html
    assert 'name="start_date"' not in html

    response = client.post(url, contract_data(start_date=days(12).isoformat(), end_date=days(192).isoformat()))
    assert response.status_code == 200
    assert Contract.objects.filter(renews=signed).count() == 1


def test_signing_through_the_page(client, personas):
    draft = create(personas)
    client.force_login(personas.referent)
    url = reverse("casework:contract_sign", args=[personas.file.public_id, draft.public_id])

    response = client.post(url, {"signed_on": today().isoformat(), "beneficiary_agreed": "on", "version": "1"})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Contract.Status.SIGNED
    assert "signé le" in messages_of(response)[0]


def test_a_concurrent_signature_shows_the_form_again_with_the_current_values(client, personas):
    draft = create(personas)
    contract_sign(
        actor=personas.supervisor, contract=draft, signed_on=days(-3), beneficiary_agreed=True, expected_version=1
    )
    client.force_login(personas.referent)
    url = reverse("casework:contract_sign", args=[personas.file.public_id, draft.public_id])

    response = client.post(url, {"signed_on": today().isoformat(), "beneficiary_agreed": "on", "version": "1"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Quelqu&#x27;un d&#x27;autre a modifié ce contrat" in html
    assert f"signé le {days(-3):%d/%m/%Y}" in html
    draft.refresh_from_db()
    assert draft.signed_on == days(-3)


def test_sign_form_errors_are_at_the_field(client, personas):
    draft = create(personas)
    client.force_login(personas.referent)
    url = reverse("casework:contract_sign", args=[personas.file.public_id, draft.public_id])

    response = client.post(url, {"signed_on": days(2).isoformat(), "version": "1"})

    assert response.status_code == 200
    assert field_errors(response, "signed_on") == ["La date de signature ne peut pas être dans le futur."]
    assert "accord de la personne" in field_errors(response, "beneficiary_agreed")[0]


def test_the_file_page_offers_to_sign_drafts_and_renew_signed_contracts_not_yet_renewed(client, personas, signed):
    draft = create(personas, start_date=days(11), end_date=days(190))  # after the signed one: no overlap
    renewed = ContractFactory(beneficiary=personas.file, start_date=days(-400), end_date=days(-200))
    ContractFactory(beneficiary=personas.file, start_date=days(-199), end_date=days(-20), renews=renewed)
    client.force_login(personas.referent)

    html = client.get(file_url(personas.file)).content.decode()

    assert reverse("casework:contract_sign", args=[personas.file.public_id, draft.public_id]) in html
    assert reverse("casework:contract_renew", args=[personas.file.public_id, signed.public_id]) in html
    assert reverse("casework:contract_renew", args=[personas.file.public_id, renewed.public_id]) not in html


def test_the_file_page_offers_no_contract_action_to_who_only_reads_it(client, personas, signed):
    client.force_login(personas.recipient)

    html = client.get(file_url(personas.file)).content.decode()

    assert "/renouveler/" not in html
    assert Beneficiary.objects.get(pk=personas.file.pk).contracts.count() == 1


# --- The file's end of its latest signed contract (signed_contract_end) ----------------------------------


def contract_end_of(personas) -> datetime.date | None:
    return Beneficiary.objects.values_list("signed_contract_end", flat=True).get(pk=personas.file.pk)


def withdraw(personas, contract) -> None:
    """The referent withdraws the contract (entered on the wrong file)."""
    common.entry_withdraw(
        actor=personas.referent,
        entry=contract,
        beneficiary=personas.file,
        reason="Saisi sur le mauvais dossier",
        expected_version=contract.version,
    )


def contracts_until_of(personas) -> datetime.date | None:
    return Beneficiary.objects.values_list("signed_contracts_until", flat=True).get(pk=personas.file.pk)


def test_every_write_on_a_contract_keeps_the_files_contract_end_in_step(personas):
    """Creating, signing, renewing, correcting and withdrawing a contract each set the file's
    `signed_contract_end` to the end of its latest signed, non-withdrawn contract (what the caseload,
    the dashboard and the alerts read)."""
    draft = create(personas, start_date=days(-10), end_date=days(170))
    assert contract_end_of(personas) is None and contracts_until_of(personas) is None  # a draft is no contract yet

    signed = contract_sign(
        actor=personas.referent, contract=draft, signed_on=today(), beneficiary_agreed=True, expected_version=1
    )
    assert contract_end_of(personas) == contracts_until_of(personas) == days(170)

    renewal = contract_renew(
        actor=personas.referent,
        contract=signed,
        start_date=days(171),
        end_date=days(351),
        signed_on=today(),
        beneficiary_agreed=True,
    )
    assert contract_end_of(personas) == contracts_until_of(personas) == days(351)

    renewal = common.entry_correct(
        actor=personas.referent,
        entry=renewal,
        beneficiary=personas.file,
        changes={"end_date": days(300)},
        expected_version=renewal.version,
    )
    assert contract_end_of(personas) == contracts_until_of(personas) == days(300)

    withdraw(personas, renewal)
    assert (
        contract_end_of(personas) == contracts_until_of(personas) == days(170)
    )  # the renewed contract is the latest again


def test_the_latest_end_of_the_signed_contracts_may_be_an_earlier_contracts(personas):
    """`signed_contracts_until` is the latest end among the signed, non-withdrawn contracts: an earlier
    contract that runs past the latest one's end (the dashboard's "contrat en retard" asks whether any
    contract ran since the orientation was decided), until it is withdrawn. Overlapping signed contracts
    are refused since issue 27, but files written before keep them: written here as such data is."""
    long = ContractFactory(
        beneficiary=personas.file, author=personas.referent, start_date=days(-10), end_date=days(400)
    )
    ContractFactory(beneficiary=personas.file, author=personas.referent, start_date=days(20), end_date=days(200))
    common.beneficiary_refresh_contract_end(beneficiary=personas.file)
    assert contract_end_of(personas) == days(200)  # the latest contract's end
    assert contracts_until_of(personas) == days(400)

    withdraw(personas, long)
    assert contract_end_of(personas) == contracts_until_of(personas) == days(200)


def test_a_signed_contract_recorded_at_once_sets_the_contract_end(personas):
    create(personas, start_date=days(-10), end_date=days(170), signed_on=days(-10), beneficiary_agreed=True)
    assert contract_end_of(personas) == days(170)


def test_the_contract_end_is_another_files_business_only_through_its_own_contracts(personas):
    other = ContractFactory(end_date=days(90))
    create(personas, start_date=days(-10), end_date=days(170), signed_on=days(-10), beneficiary_agreed=True)
    assert Beneficiary.objects.values_list("signed_contract_end", flat=True).get(pk=other.beneficiary_id) == days(90)
