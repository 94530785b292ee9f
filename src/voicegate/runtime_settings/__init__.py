"""Settings an admin can change while the gateway runs: defaults from the environment, overrides in the database."""
