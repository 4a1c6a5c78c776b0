"""The cases, each a function from the run's context to one row of the table."""
