"""The built-in campaigns, created or updated by `advocacy seed`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Campaign, CampaignKind, CampaignStatus, LetterTemplate


@dataclass(frozen=True)
class TemplateSeed:
    """A letter template as shipped."""

    slug: str
    title: str
    description: str
    subject: str
    body: str


@dataclass(frozen=True)
class CampaignSeed:
    """A campaign as shipped."""

    slug: str
    title: str
    summary: str
    why_it_matters: str
    sender_name: str
    goal: int
    templates: tuple[TemplateSeed, ...]


GENERAL_LETTER = """\
Dear {{ mp_name }},

I am writing to you as a constituent in {{ constituency }} about the persecution of the Uyghur \
people and other Turkic Muslims in the Xinjiang Uyghur Autonomous Region of China.

{{ personal_words }}

In August 2022 the UN Office of the High Commissioner for Human Rights concluded that serious \
human rights violations have been committed in Xinjiang, and that the arbitrary and \
discriminatory detention of Uyghurs and other predominantly Muslim groups may constitute \
international crimes, in particular crimes against humanity. Researchers, journalists and \
survivors have documented mass detention, pervasive surveillance, restrictions on religious \
practice and language, the separation of families, and state-organised labour transfer \
programmes that put goods made with forced labour into global supply chains, including ours.

Uyghurs living in the United Kingdom also report harassment and pressure from the Chinese \
state, often through threats to relatives who remain in Xinjiang.

I would be grateful if you would:

1. Raise the situation of the Uyghurs in Parliament, through a written question or in a debate, \
and ask what the Government is doing in response to the UN's findings.
2. Press the Government to extend targeted sanctions to further officials and entities \
responsible for these abuses, working with our allies.
3. Press for legislation that keeps goods made with forced labour out of UK supply chains, \
including mandatory human rights due diligence for companies and public procurement.
4. Support an independent, international investigation into the situation in Xinjiang, with \
unhindered access for UN experts.
5. Ask the Government how it protects Uyghurs in the UK from transnational repression.

I would welcome your reply setting out what you will do.

Yours sincerely,
{{ sender_name }}
"""

WOMENS_LETTER = """\
Dear {{ mp_name }},

I am writing to you as a constituent in {{ constituency }} about the oppression of Uyghur women \
in the Xinjiang Uyghur Autonomous Region of China.

{{ personal_words }}

The UN Office of the High Commissioner for Human Rights reported in August 2022 that there are \
credible indications of violations of reproductive rights through the coercive enforcement of \
family planning policies in Xinjiang, and that allegations of sexual and gender-based violence \
in detention, including rape, appear credible. Official statistics show birth rates in the \
region falling steeply after 2017. Women who were held in detention facilities have given \
first-hand testimony of forced contraception, sterilisation and abuse, and many women have been \
separated from their children and husbands.

I would be grateful if you would:

1. Raise the treatment of Uyghur women in Parliament, through a written question or in a \
debate, and ask what the Government is doing in response to the UN's findings.
2. Press the Government to place targeted sanctions on the officials responsible for coercive \
birth prevention and for abuse in detention.
3. Press for legislation that keeps goods made with forced labour, including the labour of \
women transferred from Xinjiang, out of UK supply chains.
4. Support an independent, international investigation, with the participation of experts on \
violence against women, and unhindered access for UN experts.
5. Ask the Government to make sure survivors who reach the UK receive specialist support and \
protection.

I would welcome your reply setting out what you will do.

Yours sincerely,
{{ sender_name }}
"""

UYGHUR_CAMPAIGN = CampaignSeed(
    slug="stand-with-the-uyghurs",
    title="Stand with the Uyghurs",
    summary=(
        "Ask your MP to act on the persecution of the Uyghur people: mass detention, forced "
        "labour, and the oppression of Uyghur women."
    ),
    why_it_matters=(
        "MPs keep count of the letters their constituents write. A personal letter from "
        "someone who lives in their constituency is read, answered, and can become a question "
        "in Parliament, a signature on a motion, or a word with a minister.\n\n"
        "It takes a few minutes. Enter your postcode to find your MP, choose a letter, add a "
        "few words of your own, and confirm your email address. We send the letter from our "
        "address with your name on it; your MP's reply comes straight to you."
    ),
    sender_name="Stand with the Uyghurs",
    goal=10_000,
    templates=(
        TemplateSeed(
            slug="general",
            title="The persecution of the Uyghurs",
            description=(
                "Mass detention, surveillance and forced labour: ask your MP to raise it in "
                "Parliament, press for sanctions and clean supply chains, and support an "
                "independent investigation."
            ),
            subject="Your constituent on the persecution of the Uyghurs",
            body=GENERAL_LETTER,
        ),
        TemplateSeed(
            slug="womens-rights",
            title="The oppression of Uyghur women",
            description=(
                "Coercive birth prevention and abuse in detention: ask your MP to raise it, "
                "press for sanctions on those responsible, and support survivors."
            ),
            subject="Your constituent on the oppression of Uyghur women",
            body=WOMENS_LETTER,
        ),
    ),
)

BUILT_IN_CAMPAIGNS = (UYGHUR_CAMPAIGN,)


def seed_campaigns(session: Session) -> tuple[int, int]:
    """Create missing built-in campaigns and refresh their texts; return (created, updated)."""
    created = updated = 0
    for seed in BUILT_IN_CAMPAIGNS:
        campaign = session.scalars(select(Campaign).where(Campaign.slug == seed.slug)).first()
        if campaign is None:
            campaign = Campaign(
                slug=seed.slug,
                kind=CampaignKind.MP_LETTER,
                status=CampaignStatus.LIVE,
                title=seed.title,
                summary=seed.summary,
                sender_name=seed.sender_name,
            )
            session.add(campaign)
            created += 1
        else:
            updated += 1
        campaign.title = seed.title
        campaign.summary = seed.summary
        campaign.why_it_matters = seed.why_it_matters
        campaign.sender_name = seed.sender_name
        campaign.goal = seed.goal
        session.flush()
        existing = {t.slug: t for t in campaign.templates}
        for position, tseed in enumerate(seed.templates):
            template = existing.get(tseed.slug)
            if template is None:
                template = LetterTemplate(campaign_id=campaign.id, slug=tseed.slug)
                session.add(template)
            template.title = tseed.title
            template.description = tseed.description
            template.subject_template = tseed.subject
            template.body_template = tseed.body
            template.position = position
            # Letters record the version they were written from, so a changed text is a
            # new version, as if an editor had saved it.
            if template.differs_from_version():
                template.save_version()
    return created, updated
