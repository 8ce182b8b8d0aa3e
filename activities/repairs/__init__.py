"""Repairs workflows whose history no longer replays: finds the point to run them again from,
resets them there, and records what was done."""
