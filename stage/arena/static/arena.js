// The listening page: play A and B, vote once both played long enough, then thanks and the leaderboard.
"use strict";

const SIDES = ["a", "b"];
const $ = (id) => document.getElementById(id);
const state = { offer: null, minPlay: 5, played: { a: 0, b: 0 }, last: { a: null, b: null }, voting: false };

function showMessage(text) { $("message").textContent = text || ""; }

function update() {
  for (const side of SIDES) {
    const heard = Math.min(state.played[side], state.minPlay);
    $("heard-" + side).value = state.minPlay > 0 ? heard / state.minPlay : 1;
    const audio = $("audio-" + side);
    const label = side.toUpperCase();
    $("play-" + side).innerHTML = (audio.paused ? "&#9654; Play " : "&#10074;&#10074; Pause ") + label;
    $("player-" + side).classList.toggle("playing", !audio.paused);
    $("status-" + side).textContent = state.played[side] >= state.minPlay
      ? "heard " + state.played[side].toFixed(1) + " s"
      : (state.played[side] > 0 ? "heard " + state.played[side].toFixed(1) + " s of " + state.minPlay + " s"
        : "not played yet");
  }
  const ready = state.offer !== null && !state.voting
    && SIDES.every((side) => state.played[side] >= state.minPlay);
  for (const id of ["vote-a", "vote-draw", "vote-b"]) { $(id).disabled = !ready; }
}

function onTime(side) {
  const audio = $("audio-" + side);
  const now = audio.currentTime;
  const before = state.last[side];
  if (!audio.paused && before !== null && now > before && now - before < 1.5) { state.played[side] += now - before; }
  state.last[side] = now;
  update();
}

function toggle(side) {
  const audio = $("audio-" + side);
  if (audio.paused) {
    for (const other of SIDES) { if (other !== side) { $("audio-" + other).pause(); } }
    if (audio.ended) { audio.currentTime = 0; }
    state.last[side] = audio.currentTime;
    audio.play().catch((error) => showMessage("could not play " + side.toUpperCase() + ": " + error.message));
  } else {
    audio.pause();
  }
  update();
}

async function loadPair() {
  showMessage("");
  $("thanks").hidden = true;
  $("pair").hidden = false;
  state.offer = null;
  state.played = { a: 0, b: 0 };
  state.last = { a: null, b: null };
  for (const side of SIDES) { $("audio-" + side).pause(); $("play-" + side).disabled = true; }
  update();
  let reply;
  try {
    reply = await fetch("/api/pair", { credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    showMessage("the server cannot be reached: " + error.message);
    return;
  }
  const data = await reply.json();
  if (!reply.ok) { showMessage(data.error || "no pair available"); return; }
  state.offer = data.offer;
  state.minPlay = data.min_play_s;
  $("min-play").textContent = String(data.min_play_s);
  for (const side of SIDES) {
    $("audio-" + side).src = data[side];
    $("play-" + side).disabled = false;
  }
  update();
}

function showBoard(data) {
  if (!data.leaderboard) { $("board").hidden = true; return; }
  $("vote-count").textContent = String(data.votes);
  const body = $("board-rows");
  body.replaceChildren();
  data.leaderboard.forEach((row, index) => {
    const line = document.createElement("tr");
    for (const value of [index + 1, row.name, row.score.toFixed(2), row.evaluations]) {
      const cell = document.createElement("td");
      cell.textContent = String(value);
      line.appendChild(cell);
    }
    body.appendChild(line);
  });
  $("board").hidden = false;
}

async function vote(answer) {
  state.voting = true;
  update();
  for (const side of SIDES) { $("audio-" + side).pause(); }
  const payload = { offer: state.offer, answer: answer, played_a_s: state.played.a, played_b_s: state.played.b };
  try {
    const reply = await fetch("/api/vote", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const data = await reply.json();
    if (!reply.ok) { showMessage(data.error || "the vote was refused"); return; }
    state.offer = null;
    $("pair").hidden = true;
    $("thanks").hidden = false;
    showBoard(data);
  } catch (error) {
    showMessage("the vote could not be sent: " + error.message);
  } finally {
    state.voting = false;
    update();
  }
}

for (const side of SIDES) {
  const audio = $("audio-" + side);
  audio.addEventListener("timeupdate", () => onTime(side));
  audio.addEventListener("seeking", () => { state.last[side] = null; });
  for (const event of ["play", "pause", "ended"]) { audio.addEventListener(event, update); }
  audio.addEventListener("error", () => showMessage("chunk " + side.toUpperCase() + " could not be loaded"));
  $("play-" + side).addEventListener("click", () => toggle(side));
}
$("vote-a").addEventListener("click", () => vote("a"));
$("vote-b").addEventListener("click", () => vote("b"));
$("vote-draw").addEventListener("click", () => vote("draw"));
$("next").addEventListener("click", loadPair);
loadPair();
