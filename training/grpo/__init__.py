"""GRPO tuning of the piano transformer with pluggable rewards: rendering, rewards, the audio critic, the loop.

See docs/grpo.md. Modules: `render` (tokens and notes to audio through FluidSynth, in a worker pool),
`timing` (REMI+ tokens to notes in seconds), `mel` (log-mel spectrograms in plain torch), `rewards` (the
reward protocol, composition and registry), `symbolic` (note-level rewards), `critic` (the audio critic
and its reward), `critic_train` (`encore train critic`), `audiobox` (optional adapter), `prompts`,
`rollout` (KV-cached batched sampling with log-probs), `loss` (advantages, clipped ratio, KL), `grpo`
(the trainer, `encore train grpo`), `config` (settings), `negatives` (what the critic must rank below music),
`preference*` (a Bradley-Terry reward on the arena's votes, `encore train preference`), `features` and
`compare` (what tuning changed: `encore grpo-compare`)."""
