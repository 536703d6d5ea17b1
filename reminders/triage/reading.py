"""From matched phrases to mentions: what is present, denied, over, severe.

The rules are deliberately few and lean towards the higher level, since a missed red
flag is the worst error triage can make and a false alarm costs a nurse a minute:

- A denial ("no", "sina", "sin", "pas", "sem") reaches the first symptom within a few
  words in the same clause, and further symptoms only over a list word ("or", "wala",
  "ni", "ou", "nem"): "no fever or cough" denies both, "no fever and cough" only fever.
- A denial at the very end of a clause looks back ("fever no", "homa hamna", "ça va pas").
- A denied "fine" is "unwell" ("not well", "sijisikii vizuri", "no estoy bien").
- A resolution after a symptom in the same clause ("the fever is gone", "homa imeisha"),
  or just before one ("ya se me quitó la tos", "já passou a dor"), makes it over. An over red flag is still worth a look the same working day (flag),
  and one that is an event (a seizure, fainting, coughing blood) stays urgent.
- "not gone", "haijaisha", "sigue": nothing in that clause is over or denied.
- An intensifier next to a symptom that has a severe form makes it severe ("kichwa
  kinauma sana" -> headache_severe).
- "It's not that", "si kwamba", "no es que", "n é que" before a denial undo it: a
  double negative affirms ("no es que no tenga fiebre" is a fever).
- A symptom in a clause told in the past ("had", "last week", "tuve", "nilikuwa na")
  is over when a later clause says the patient is well now ("fine now", "ya estoy
  bien", "sasa niko poa").
"""

from __future__ import annotations

from dataclasses import dataclass

from .lexicon import Lexicons
from .matcher import Match
from .text import BOUNDARY, EMOJI_PREFIX, Word

NEGATION_REACH = 5  # words from a denial to the symptom it denies ("I do not have any fever")
LIST_REACH = 3  # words from a list word to the next denied symptom ("or any cough")
LOOK_BACK = 2  # words between a symptom and a clause-final denial ("fever, no")
RESOLUTION_REACH = 6  # words from a symptom to its resolution ("the fever I had is gone")
RESOLUTION_AHEAD = 2  # words from a resolution to the symptom after it ("ya pasó la fiebre")
INTENSIFIER_REACH = 3  # words between a symptom and its intensifier


@dataclass
class Mention:
    tag: str | None  # None: a "fine"/"ok" reply
    start: int  # token span that shows the evidence (cue included)
    end: int
    clause: int
    immune: bool = False  # carries its own negation ("can't breathe", "no problem")
    state: str = "present"  # "present" | "denied" | "over"
    thanks: bool = False  # a thank-you, not a statement of health


@dataclass
class _Scope:
    clause: int
    reach: int  # last token index a denial still reaches
    cue_start: int
    last_end: int | None = None


@dataclass
class Reading:
    mentions: list[Mention]
    admin: list[Match]
    third_party: list[Match]


def clauses(tokens: list[Word], matches: list[Match]) -> list[int]:
    """Clause number of each token: punctuation and words like "but" start a new one."""
    starts = {m.start for m in matches if m.pattern.kind == "boundary"}
    out, number = [], 0
    for i, word in enumerate(tokens):
        if word.text == BOUNDARY or i in starts:
            number += 1
        out.append(number)
    return out


def read(tokens: list[Word], matches: list[Match], lexicons: Lexicons, intensified: set[int]) -> Reading:
    """`intensified`: positions of intensifier words, also inside a phrase's gap."""
    clause = clauses(tokens, matches)
    mentions: list[Mention] = []
    admin: list[Match] = []
    third_party: list[Match] = []
    intensifiers: list[Match] = []
    denial_ends: set[int] = set()
    persisting: set[int] = set()
    scope: _Scope | None = None
    pending: tuple[int, int, int] | None = None  # a resolution waiting for its symptom
    affirm: tuple[int, int] | None = None  # (clause, last token) where a denial is undone
    past: set[int] = set()  # clauses told in the past
    now: set[int] = set()  # clauses told in the present ("now", or a resolution)

    for m in matches:
        kind, here = m.pattern.kind, clause[m.start]
        if scope is not None and scope.clause != here:
            scope = None
        if kind == "negation":
            if affirm is not None and affirm[0] == here and m.start <= affirm[1]:
                scope = None  # French denies twice: "ce n'est pas que je n'ai pas de fièvre"
                continue  # "it's not that i don't have fever": a fever
            denial_ends.add(m.end)
            if _clause_ends(tokens, m.end):
                before = _last_present(mentions, here, m.start)
                if before is not None:
                    _deny(before, before.start, m.end)
                    continue
            scope = _Scope(here, m.end + NEGATION_REACH - 1, m.start)
        elif kind == "list":
            if scope is not None and scope.last_end is not None and m.start - scope.last_end <= LOOK_BACK:
                scope.reach = m.end + LIST_REACH - 1
        elif kind in ("symptom", "ok", "thanks"):
            # An emoji is never denied: in "ni fiebre ni nada 😁" the smile is the reply.
            mention = Mention(m.pattern.tag, m.start, m.end, here,
                              m.pattern.has_negation or tokens[m.start].text.startswith(EMOJI_PREFIX),
                              thanks=kind == "thanks")
            if pending is not None and mention.tag and pending[0] == here and m.start <= pending[1]:
                if not lexicons.tags[mention.tag].event:
                    mention.state = "over"
                mention.start = pending[2]
                pending = None
            if scope is not None and not mention.immune and (
                m.start <= scope.reach
                # "no blurred vision", "no swollen glands": two words, one symptom;
                # "no vision problems": a catch-all word right after a denied symptom
                or (m.start == scope.last_end and mentions and mention.tag is not None
                    and (mentions[-1].tag == mention.tag or lexicons.tags[mention.tag].generic))
            ):
                _deny(mention, scope.cue_start if scope.last_end is None else m.start, m.end)
                scope.last_end, scope.reach = m.end, -1
            elif mention.tag is not None:
                scope = None  # an affirmed symptom ends the denial ("no fever headache")
            mentions.append(mention)
        elif kind == "affirm":
            # "it's not that": alone it denies what follows ("no es que esté bien" is
            # not well); before another denial it undoes it ("no es que no tenga fiebre").
            affirm = (here, m.end + NEGATION_REACH - 1)
            scope = _Scope(here, m.end + NEGATION_REACH - 1, m.start)
        elif kind == "past":
            past.add(here)
        elif kind == "now":
            now.add(here)
        elif kind == "resolution":
            now.add(here)
            if not _resolve(mentions, here, m, lexicons):
                mentions.append(Mention(None, m.start, m.end, here))  # "better now", "all gone"
                pending = (here, m.end + RESOLUTION_AHEAD, m.start)  # "ya se me quitó la tos"
        elif kind == "persist":
            persisting.add(here)
        elif kind == "intensifier":
            if m.start not in denial_ends:  # "not very"
                intensifiers.append(m)
        elif kind == "third_party":
            third_party.append(m)
        elif kind in ("admin", "admin_topic"):
            admin.append(m)
        # pseudo, boundary, menu_lead, unit: they only shape the reading above.

    _past_and_well_now(mentions, past, now, lexicons)
    for mention in mentions:
        if mention.clause in persisting and mention.tag and mention.state != "present":
            mention.state = "present"
    _intensify(mentions, intensifiers, intensified, clause, lexicons)
    return Reading(mentions, admin, third_party)


def _past_and_well_now(mentions: list[Mention], past: set[int], now: set[int], lexicons: Lexicons) -> None:
    """"had a cough last week, fine now": symptoms of past clauses before a clause that
    says the patient is well now are over (an event stays what it was)."""
    well_now = [m.clause for m in mentions if m.tag is None and m.state == "present" and m.clause in now]
    if not well_now:
        return
    last = max(well_now)
    for mention in mentions:
        if (mention.tag and mention.state == "present" and mention.clause in past
                and mention.clause < last and not lexicons.tags[mention.tag].event):
            mention.state = "over"


def _clause_ends(tokens: list[Word], at: int) -> bool:
    return at >= len(tokens) or tokens[at].text == BOUNDARY


def _last_present(mentions: list[Mention], clause: int, before: int) -> Mention | None:
    """The mention a clause-final denial looks back at, if it is close enough."""
    if not mentions:
        return None
    last = mentions[-1]
    if last.clause == clause and last.state == "present" and not last.immune and before - last.end <= LOOK_BACK:
        return last
    return None


def _deny(mention: Mention, start: int, end: int) -> None:
    mention.start, mention.end = min(mention.start, start), max(mention.end, end)
    if mention.tag is None:  # "not fine", "sio poa": a complaint, not a denial
        mention.tag = "unwell"
    else:
        mention.state = "denied"


def _resolve(mentions: list[Mention], clause: int, cue: Match, lexicons: Lexicons) -> bool:
    resolved = False
    for mention in reversed(mentions):
        if mention.clause != clause or cue.start - mention.end > RESOLUTION_REACH:
            break
        if mention.tag is None or mention.state != "present":
            continue
        mention.end = max(mention.end, cue.end)
        if not lexicons.tags[mention.tag].event:
            mention.state = "over"
        resolved = True
    return resolved


def _intensify(mentions: list[Mention], intensifiers: list[Match], intensified: set[int],
               clause: list[int], lexicons: Lexicons) -> None:
    for mention in mentions:
        if mention.state != "present" or mention.tag is None:
            continue
        severe = lexicons.tags[mention.tag].severe
        if severe is None:
            continue
        if any(mention.start < i < mention.end for i in intensified):
            mention.tag = severe  # "duele muchísimo la cabeza"
            continue
        for m in intensifiers:
            if clause[m.start] != mention.clause:
                continue
            if 0 <= mention.start - m.end < INTENSIFIER_REACH or 0 <= m.start - mention.end < INTENSIFIER_REACH:
                mention.tag = severe
                mention.start, mention.end = min(mention.start, m.start), max(mention.end, m.end)
                break
