"""Every key of the terminal UI against a real show (tiny piano, shipped drums, three songs, real time):
the key sends a command, the engine applies (or rejects) it, and the screen shows the new value."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from ui_helpers import (
    FakeClock,
    assert_every_note_closed,
    build_show,
    play_with_ui,
    screen_text,
    until,
    until_screen,
    until_status,
)

from encore.stage.ui.app import StageApp
from encore.stage.ui.config import UiConfig
from encore.stage.ui.pickers import ChoiceScreen, ConfirmScreen, FileScreen


def voice_row(app: StageApp, name: str) -> str:
    """The screen line of voice `name` in the voices panel (`▶ 1 piano  0.90  0.90  seed  mix`)."""
    for line in screen_text(app).splitlines():
        fields = line.replace("▶", " ").split()
        if len(fields) > 2 and fields[0].isdigit() and fields[1] == name:
            return line
    raise AssertionError(f"no row for {name} on screen:\n{screen_text(app)}")


SAMPLING_KEYS = [("T", "temperature", 0.05), ("t", "temperature", -0.05), ("P", "top_p", 0.02), ("p", "top_p", -0.02)]


def test_sampling_keys_change_the_selected_voice(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        for key, field, step in [*SAMPLING_KEYS, ("2", None, None), ("T", "temperature", 0.05)]:
            if field is None:  # select the drums: the next key changes their temperature
                await pilot.press(key)
                continue
            voice = app.voice().name
            before = getattr(app.show.snapshot().voice(voice).sampling, field)
            app.set_status("-")
            await pilot.press(key)
            assert (await until_status(app, "✓ sampling")) == f"✓ sampling voice={voice} {field}={before + step:g}"
            after = getattr(app.show.snapshot().voice(voice).sampling, field)
            assert after == pytest.approx(before + step)
            column = 2 if field == "temperature" else 3
            await until(lambda: voice_row(app, voice).replace("▶", " ").split()[column] == f"{after:.2f}",  # noqa: B023
                        f"{after:.2f} on the {voice} row")

    play_with_ui(build_show(setlist), scenario)


def test_tempo_keys_and_tap_tempo(setlist: Path) -> None:
    clock = FakeClock()

    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("plus")
        await until_status(app, "✓ tempo bpm=122")
        await until(lambda: app.show.snapshot().tempo_bpm == 122.0, "the tempo at 122 (next beat)")
        await until(lambda: app.transport.tempo.value == "122.0", "the large digits to show 122.0")
        await pilot.press("minus", "minus")
        await until(lambda: app.show.snapshot().tempo_bpm == 118.0, "the tempo at 118")
        await pilot.press("equals_sign")
        await until(lambda: app.show.snapshot().tempo_bpm == 120.0, "the tempo back at 120")
        for _ in range(3):  # taps half a second apart: 120 bpm, then 0.4 s apart: 150 bpm
            await pilot.press("space")
            clock.now += 0.4
        assert (await until_status(app, "✓ tempo")) == "✓ tempo bpm=150"
        await until(lambda: app.show.snapshot().tempo_bpm == 150.0, "the tapped tempo")

    play_with_ui(build_show(setlist), scenario, now=clock)


def test_voice_selection_mute_and_solo(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("2")
        await until_status(app, "voice 2: drums")
        assert voice_row(app, "drums").lstrip().startswith("▶ 2 drums")
        await pilot.press("m")
        await until_status(app, "✓ mute voice=drums muted=on")
        assert app.show.snapshot().voice("drums").muted
        await until(lambda: "MUTE" in voice_row(app, "drums"), "MUTE on the drums' row")
        await pilot.press("m")
        await until_status(app, "✓ mute voice=drums muted=off")
        assert not app.show.snapshot().voice("drums").muted
        await pilot.press("1", "s")
        await until_status(app, "✓ solo voice=piano soloed=on")
        snapshot = app.show.snapshot()
        assert snapshot.voice("piano").soloed and not snapshot.voice("drums").audible
        await until(lambda: "SOLO" in voice_row(app, "piano") and voice_row(app, "drums").rstrip().endswith("off"),
                    "SOLO on the piano's row, the drums off")
        await pilot.press("9")
        await until_status(app, "no voice 9 (this show has 2)")

    play_with_ui(build_show(setlist), scenario)


def test_next_and_previous_song_and_a_rejection_with_its_reason(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("b")
        assert (await until_status(app, "✗ previous")) == "✗ previous: song 1 (intro) is the first"
        await pilot.press("n")
        await until_status(app, "✓ next")
        next_song = app.show.snapshot().next_song
        assert next_song.name == "verse" and next_song.start_beat < 16 * 4
        bar = int(next_song.start_beat // 4) + 1
        await until_screen(app, f"▸ next 2 verse at bar {bar}")
        await until(lambda: app.show.snapshot().song.name == "verse", "the verse", timeout_s=30)
        await until_screen(app, "song 2 verse")
        assert app.show.snapshot().tempo_bpm == 100.0
        await pilot.press("b")
        await until_status(app, "✓ previous")
        await until(lambda: app.show.snapshot().song.name == "intro", "the intro again", timeout_s=30)
        await until_screen(app, "song 1 intro  ▸ next 2 verse")

    play_with_ui(build_show(setlist), scenario)


def test_seed_from_the_setlist_folder_and_from_the_file_picker(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, ChoiceScreen), "the seed list")
        assert "other.mid" in screen_text(app) and "pop909_003.mid" in screen_text(app)
        await pilot.press("down", "enter")  # other.mid, pop909_003.mid, browse files…: the second
        await until_status(app, "✓ reseed voice=piano seed=pop909_003.mid")
        await pilot.press("o", "home", "enter")  # other.mid
        await until_status(app, "✓ reseed voice=piano seed=other.mid")
        await until(lambda: app.show.snapshot().voice("piano").seed == "other.mid", "the piano re-primed with it")
        await until(lambda: "other.mid" in voice_row(app, "piano"), "other.mid on the piano's row")
        await pilot.press("o", "end", "enter")  # browse files…
        await until(lambda: isinstance(app.screen, FileScreen), "the file picker")
        await until_screen(app, "seeds")
        await pilot.press("down", "enter")  # the seeds folder: open it
        await until_screen(app, "pop909_003.mid")
        await pilot.press("down", "down", "enter")  # other.mid, pop909_003.mid: the second
        await until_status(app, "✓ reseed voice=piano seed=pop909_003.mid")
        await until(lambda: app.show.snapshot().voice("piano").seed == "pop909_003.mid", "the piano re-primed")
        await pilot.press("o", "q")
        await until(lambda: not isinstance(app.screen, ChoiceScreen), "q to close the list")

    play_with_ui(build_show(setlist), scenario)


def test_reseed_from_the_last_bars_played(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        def played_last_bar() -> bool:
            snapshot = app.show.snapshot()
            start = (snapshot.bar - 2) * 4.0
            return snapshot.bar >= 2 and any(start <= n[0] < start + 4 for n in snapshot.voice("piano").recent_notes)

        await until(played_last_bar, "a bar of piano played")
        snapshot = app.show.snapshot()
        start = (snapshot.bar - 2) * 4.0
        expected = [n for n in snapshot.voice("piano").recent_notes if start <= n[0] < start + 4]
        await pilot.press("e")
        line = await until_status(app, "✓ reseed voice=piano seed=phrase")
        count = int(line.split("phrase (")[1].split()[0])
        assert count >= len(expected) - 2  # a bar line may pass between the two reads
        await until(lambda: app.show.snapshot().voice("piano").seed == f"phrase ({count} notes)", "the phrase primed")
        await until(lambda: f"phrase ({count} notes)" in voice_row(app, "piano"), "the phrase on the piano's row")

    play_with_ui(build_show(setlist), scenario, UiConfig(reseed_bars=1))


def test_groove_picker_sends_a_style_and_a_mode(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("g")
        await until(lambda: isinstance(app.screen, ChoiceScreen), "the groove list")
        await until_screen(app, "style: funk")
        choices = [key for key, _ in app.screen.choices]
        await pilot.press(*["down"] * choices.index("groove:funk"), "enter")
        await until_status(app, "✓ groove voice=drums mode=library groove=funk")
        await until(lambda: app.show.snapshot().voice("drums").groove == "funk", "the drums on funk")
        await until(lambda: "funk (library)" in voice_row(app, "drums"), "funk on the drums' row")
        await pilot.press("g", "enter")  # the first choice: follow-piano
        await until_status(app, "✓ groove voice=drums mode=follow-piano")
        await until(lambda: "funk (follow-piano)" in voice_row(app, "drums"), "follow-piano on the drums' row")

    play_with_ui(build_show(setlist), scenario)


def test_key_picker_leans_the_piano_to_a_key_and_lets_go(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("k")
        await until(lambda: isinstance(app.screen, ChoiceScreen), "the key list")
        await until_screen(app, "C major")
        choices = [key for key, _ in app.screen.choices]
        await pilot.press(*["down"] * choices.index("D minor"), "enter")
        await until_status(app, "✓ key voice=piano key=D minor strength=-2")
        await until(lambda: app.show.snapshot().voice("piano").key == "D minor", "the piano in D minor")
        await until(lambda: "D minor:" in voice_row(app, "piano"), "the key on the piano's row")
        await pilot.press("k", "enter")  # the first choice: off
        await until_status(app, "✓ key voice=piano key=off strength=-2")
        await until(lambda: "D minor" not in voice_row(app, "piano"), "no key on the piano's row")

    play_with_ui(build_show(setlist), scenario)


def test_record_off_and_on_and_panic_even_in_a_modal(setlist: Path, tmp_path: Path) -> None:
    record = tmp_path / "rec.mid"
    results = []

    async def scenario(app: StageApp, pilot: Pilot) -> None:
        app.show.engine.subscribe(results.append)
        await pilot.press("r")
        await until_status(app, "✓ record on=off")
        assert _recorder(app).state == "paused"
        await until_screen(app, "recorder rec.mid paused")
        await pilot.press("r")
        await until_status(app, "✓ record on=on")
        await until_screen(app, "recorder rec.mid open")
        await pilot.press("escape")
        await until_status(app, "✓ panic")
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, ChoiceScreen), "the seed list")
        panics = sum(type(result.command).__name__ == "Panic" for result in results)
        await pilot.press("escape")
        await until(lambda: sum(type(r.command).__name__ == "Panic" for r in results) == panics + 1, "a second panic")
        assert isinstance(app.screen, ChoiceScreen), "escape panics; it does not close the list"

    play_with_ui(build_show(setlist, record), scenario)
    assert_every_note_closed(record)


def test_learn_mode_without_a_controller_says_how_to_get_one(setlist: Path) -> None:
    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("l")
        await until_status(app, "learn mode needs a MIDI controller: start with --midi-in PORT")

    play_with_ui(build_show(setlist), scenario)


def test_learn_mode_binds_a_knob_of_a_real_controller(setlist: Path, jack_server: str, tmp_path: Path) -> None:
    import rtmidi

    from encore.stage.controllers.mapping import DEFAULT_MAPPING, load_mapping
    from encore.stage.controllers.midi_input import MidiInput
    from encore.stage.controllers.surface import ControllerSurface

    knobs = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "ui-test-knobs")
    knobs.open_virtual_port("out")
    controller = ControllerSurface(MidiInput("ui-test-knobs", "jack"), load_mapping(DEFAULT_MAPPING),
                                   tmp_path / "learned.toml")

    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press("l")
        await until(lambda: isinstance(app.screen, ChoiceScreen), "the list of controls")
        choices = [key for key, _ in app.screen.choices]
        await pilot.press(*["down"] * choices.index("temperature"), "enter")
        await until_status(app, "learn mode: move a knob or press a key for temperature (piano)")
        knobs.send_message([0xB1, 21, 64])  # CC 21 on channel 2: learned, its first value not applied
        await until_status(app, "learned: ")
        assert "temperature (piano)" in app.status_text
        knobs.send_message([0xB1, 21, 127])  # the top of the range: 2.0
        await until(lambda: app.show.snapshot().voice("piano").sampling.temperature == pytest.approx(2.0),
                    "the learned knob to set the temperature")
        await until(lambda: "2.00" in voice_row(app, "piano"), "2.00 on the piano's row")

    try:
        play_with_ui(build_show(setlist), scenario, surfaces=[controller])
    finally:
        knobs.close_port()
        knobs.delete()
    assert "temperature" in (tmp_path / "learned.toml").read_text()


@pytest.mark.parametrize("key", ["q", "ctrl+q", "ctrl+c"])
def test_quit_asks_while_playing_then_stops_the_show_and_closes_the_recording(setlist: Path, tmp_path: Path,
                                                                             key: str) -> None:
    record = tmp_path / "rec.mid"

    async def scenario(app: StageApp, pilot: Pilot) -> None:
        await pilot.press(key)
        await until(lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "Stop the show and quit?" in screen_text(app)
        await pilot.press("n")
        await until_status(app, "quit: cancelled, playing on")
        assert app.show.snapshot().playing
        await pilot.press(key)
        await until(lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await pilot.press("y")
        await until(lambda: not app.show.snapshot().playing, "the show to stop")

    report = play_with_ui(build_show(setlist, record), scenario)
    assert report.seconds < 60 and report.notes_sent > 0
    assert_every_note_closed(record)


def _recorder(app: StageApp):
    return next(output for output in app.show.snapshot().outputs if output.kind == "recorder")
