"""The engine's side of the revisable lookahead: what it holds back while a voice rewinds.

A command that changes what a voice plays (sampling settings, a new seed, a groove) asks the voice to
render again from the commit horizon on (`Revisions.ask`). At once, the voice's queued notes from that
beat on are taken out of the queue (`Scheduler.revoke`: never a note whose note-on was sent) into a
`Hold`, and notes that renders already under way bring back from that beat on join them: nothing of
the voice past the horizon is queued until the voice has taken the request. After each render
(`Revisions.settle`) the voice says from which beat its earlier notes are void (`Voice.take_void`);
queued notes from there on are revoked, held ones dropped, and once the voice has taken every request,
the held notes before that beat (normally none) are queued again and the hold is let go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from encore.engine.scheduler import Scheduler
from encore.engine.voices.base import Seed, Voice
from encore.models.notes import NoteEvent


@dataclass
class Hold:
    """Notes of one voice held back from `from_beat` on until the voice takes request number `until`."""

    from_beat: float
    until: int
    notes: list[NoteEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Settled:
    """What to queue after a render, and what was voided.

    Attributes:
        released: Held notes that stand after all (queue them; they are not new renders).
        fresh: The render's notes to queue now.
        void_from: Notes from this beat on were taken back (None: none).
    """

    released: list[NoteEvent]
    fresh: list[NoteEvent]
    void_from: float | None


class Revisions:
    """Holds per voice, in the engine's thread.

    Args:
        scheduler: Whose queued notes are revoked.
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.holds: dict[str, Hold] = {}

    def ask(self, voice: Voice, from_beat: float, seed: Seed | None = None) -> list[NoteEvent]:
        """Ask `voice` to render again from `from_beat` (re-priming there with `seed`); returns the notes
        taken out of the queue."""
        revoked = self.scheduler.revoke(voice.name, from_beat)
        number = voice.revise(from_beat, seed)
        hold = self.holds.get(voice.name)
        if hold is None:
            self.holds[voice.name] = Hold(from_beat, number, revoked)
        else:
            hold.from_beat, hold.until = min(hold.from_beat, from_beat), number
            hold.notes += revoked
        return revoked

    def settle(self, voice: Voice, notes: list[NoteEvent]) -> Settled:
        """After a render of `voice` that returned `notes`: revoke what it voided, release or keep its hold."""
        void, taken = voice.take_void()
        if void is not None:
            self.scheduler.revoke(voice.name, void)
        hold = self.holds.get(voice.name)
        if hold is None:
            return Settled([], notes, void)
        if void is not None:
            hold.notes = [note for note in hold.notes if note.onset_beats < void]
        if taken >= hold.until:
            del self.holds[voice.name]
            return Settled(hold.notes, notes, void)
        hold.notes += [note for note in notes if note.onset_beats >= hold.from_beat]
        return Settled([], [note for note in notes if note.onset_beats < hold.from_beat], void)

    def drop(self, name: str | None = None) -> None:
        """Forget the hold of voice `name` (all holds with None): a panic, a failed voice."""
        if name is None:
            self.holds.clear()
        else:
            self.holds.pop(name, None)
