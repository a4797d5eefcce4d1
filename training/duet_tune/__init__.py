"""Tuning the piano as a duet partner (issue 25): the supervised fine-tune on POP909 with the melody as the
performer, rewards that can be checked, and GRPO through the duet code path (docs/duet.md)."""
