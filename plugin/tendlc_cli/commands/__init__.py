"""The click commands: each parses its flags, calls the pure room that does the work, prints, exits."""
