"""What every service runs, written once: serving, error answers, SQL set-up, token checks."""
