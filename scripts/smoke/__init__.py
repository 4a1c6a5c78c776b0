"""`hatch run smoke --base-url URL`: the system's contract, checked from outside through its gateway.

The same contract the suites prove in-process (tests/test_integration.py), written once and aimed
at any URL: run it after a deploy, or on a schedule, and it is the article's "monitoring in
production". One module per service (health.py, articles.py, chat.py, events.py, processing.py);
runner.py gives every step a deadline and keeps the score; __main__.py is the command line.
"""
